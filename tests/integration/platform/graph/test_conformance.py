"""The behaviour every GraphStore backend must share."""

from __future__ import annotations

import pytest

from twincore.platform.graph.store import GraphError, GraphStore


def test_rows_are_dicts_keyed_by_return_names(graph_store: GraphStore) -> None:
    rows = graph_store.query("MATCH (p:Person) RETURN p.name AS name, p.age AS age ORDER BY p.name")
    assert rows == [{"name": "Ada", "age": 36}, {"name": "Bob", "age": 40}]


def test_parameters_are_bound_not_spliced(graph_store: GraphStore) -> None:
    rows = graph_store.query(
        "MATCH (p:Person {name: $n}) RETURN p.pid AS pid", {"n": "Ada' OR 1=1 //"}
    )
    assert rows == []
    assert graph_store.query("MATCH (p:Person {name: $n}) RETURN p.pid AS pid", {"n": "Bob"}) == [
        {"pid": "p2"}
    ]


def test_read_only_query_refuses_writes(graph_store: GraphStore) -> None:
    with pytest.raises(GraphError):
        graph_store.query("CREATE (:Person {name: 'Mallory'})")
    assert graph_store.query("MATCH (p:Person) RETURN count(p) AS c") == [{"c": 2}]


def test_syntax_error_is_graph_error(graph_store: GraphStore) -> None:
    with pytest.raises(GraphError, match="graph query failed"):
        graph_store.query("MATCH (p:Person RETURN p")


def test_schema_reports_labels_rel_endpoints_and_types(graph_store: GraphStore) -> None:
    schema = graph_store.schema()
    assert schema.node_properties["Person"] == {
        "pid": "STRING",
        "name": "STRING",
        "age": "INTEGER",
        "score": "FLOAT",
    }
    assert schema.relationships["KNOWS"].endpoints == (("Person", "Person"),)
    assert schema.rel_properties["KNOWS"] == {"since": "INTEGER"}
    assert "(:Person)-[:KNOWS {since: INTEGER}]->(:Person)" in schema.as_text()
