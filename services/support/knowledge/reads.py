"""Reads that treat a graph that does not exist yet as empty (FalkorDB makes it on first write)."""

from __future__ import annotations

from typing import Any

from twincore.platform.graph.store import GraphError, GraphStore, Row


def read_or_empty(
    store: GraphStore, cypher: str, params: dict[str, Any] | None = None
) -> list[Row]:
    """`store.query`, except that a FalkorDB graph never written (or cleared) reads as no rows."""
    try:
        return store.query(cypher, params)
    except GraphError as exc:
        if "empty key" in str(exc):  # FalkorDB: "Invalid graph operation on empty key"
            return []
        raise


def count(store: GraphStore, cypher: str) -> int:
    """The `c` column of a `RETURN count(...) AS c` query; 0 on a graph that does not exist."""
    rows = read_or_empty(store, cypher)
    return int(rows[0]["c"]) if rows else 0
