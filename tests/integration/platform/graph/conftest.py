"""Graph stores for the conformance suite: embedded FalkorDB always, Neo4j when configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.graph.store import GraphStore

BACKENDS = ["falkordb", "neo4j"]


@pytest.fixture(scope="session", params=BACKENDS)
def graph_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GraphStore]:
    store: GraphStore
    if request.param == "neo4j":
        uri = os.environ.get("TWINCORE_NEO4J_URI")
        if not uri:
            pytest.skip("TWINCORE_NEO4J_URI not set: Neo4j variant of the conformance suite")
        from twincore.platform.graph.neo4j_store import Neo4jStore

        store = Neo4jStore(
            uri,
            os.environ.get("TWINCORE_NEO4J_USER", "neo4j"),
            os.environ.get("TWINCORE_NEO4J_PASSWORD", ""),
            os.environ.get("TWINCORE_NEO4J_DATABASE", "neo4j"),
        )
    else:
        store = FalkorDBStore(Path(tmp_path_factory.mktemp("graph")) / "conf.db")
    store.clear()
    store.query(
        "CREATE (:Person {pid: 'p1', name: 'Ada', age: 36, score: 1.5})"
        "-[:KNOWS {since: 1990}]->(:Person {pid: 'p2', name: 'Bob', age: 40, score: 2.0})",
        read_only=False,
    )
    yield store
    store.close()
