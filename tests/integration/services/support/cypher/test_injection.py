"""Injection attempts are refused with a reason and never change the graph."""

from __future__ import annotations

import contextlib

import pytest

from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.graph.store import GraphError
from twincore.services.support.cypher.guard import CypherRejectedError, validate
from twincore.services.support.knowledge.northwind import (
    LoadReport,
    count_nodes,
    count_relationships,
)

ATTEMPTS = [
    ("CREATE (:Customer {customerID: 'EVIL'})", "write clause CREATE"),
    ("MATCH (c:Customer) SET c.companyName = 'x' RETURN c", "write clause SET"),
    ("MATCH (c:Customer) DETACH DELETE c", "write clause DETACH"),
    ("MATCH (c:Customer) DELETE c", "write clause DELETE"),
    ("MERGE (c:Customer {customerID: 'EVIL'}) RETURN c", "write clause MERGE"),
    ("MATCH (p:Product) REMOVE p.unitPrice RETURN p", "write clause REMOVE"),
    ("LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", "write clause LOAD"),
    ("MATCH (n) RETURN n; MATCH (n) DETACH DELETE n", "one statement"),
    ("MATCH (n) RETURN n // DETACH DELETE n", "comments"),
    ("MATCH (n) /* x */ RETURN n", "comments"),
    ("CALL dbms.procedures()", "CALL dbms.procedures"),
    ("CALL db.idx.fulltext.createNodeIndex('Product', 'productName')", "CALL db.idx"),
    (
        "MATCH (c:Customer {companyName: 'a'}) RETURN c UNION MATCH (n) CREATE (:X) RETURN n",
        "write clause CREATE",
    ),
    (r"MATCH (c:Customer {companyName: 'x\'}) RETURN c", "unterminated string"),
    ("MATCH (c:Customer {companyName: 'x}) RETURN c", "unterminated string"),
    ("MATCH (c:Customer) FOREACH (x IN [1] | CREATE (:X)) RETURN c", "write clause FOREACH"),
    ("MATCH (u:User) RETURN u", "unknown label 'User'"),
    ("MATCH (c:Customer)-[:OWNS]->(x) RETURN x", "unknown relationship type 'OWNS'"),
    ("MATCH (c:Customer) RETURN c.password", "unknown property 'password'"),
    ("MATCH (c:Customer) CALL { MATCH (n) RETURN n } RETURN c", "CALL a subquery"),
    ("MATCH (c:Customer) RETURN c LIMIT $n", "LIMIT must be a literal integer"),
    ("MATCH (c:Customer) RETURN c `", "unterminated backtick"),
]


@pytest.mark.parametrize(("cypher", "reason"), ATTEMPTS)
def test_attempt_refused_and_graph_unchanged(
    northwind: tuple[FalkorDBStore, LoadReport], cypher: str, reason: str
) -> None:
    store, report = northwind
    with pytest.raises(CypherRejectedError, match=reason.split("'")[0]):
        validate(cypher, store.schema())
    # Even run raw, the read-only store path refuses or is harmless.
    with contextlib.suppress(GraphError):
        store.query(cypher)
    assert count_nodes(store) == report.nodes
    assert count_relationships(store) == report.relationships


def test_string_content_is_data_not_a_clause(northwind: tuple[FalkorDBStore, LoadReport]) -> None:
    store, _ = northwind
    checked = validate(
        "MATCH (c:Customer {companyName: '; CREATE (:X) //'}) RETURN c.customerID AS id",
        store.schema(),
    )
    assert store.query(checked.cypher) == []


def test_huge_limit_is_capped_and_missing_limit_added(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    store, _ = northwind
    checked = validate("MATCH (o:Order) RETURN o.orderID AS id LIMIT 1000000000", store.schema())
    assert checked.limit == 100 and len(store.query(checked.cypher)) == 100
    added = validate("MATCH (o:Order) RETURN o.orderID AS id", store.schema())
    assert added.cypher.endswith("LIMIT 100") and len(store.query(added.cypher)) == 100
