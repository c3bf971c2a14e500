"""Knowledge-graph storage seam: one `GraphStore` protocol, embedded FalkorDB and Neo4j backends."""

from twincore.platform.graph.factory import open_graph_store
from twincore.platform.graph.store import (
    GraphError,
    GraphSchema,
    GraphStore,
    GraphUnavailable,
    RelType,
)

__all__ = [
    "GraphError",
    "GraphSchema",
    "GraphStore",
    "GraphUnavailable",
    "RelType",
    "open_graph_store",
]
