"""Open the configured graph store from settings (`graph.backend`)."""

from __future__ import annotations

from pathlib import Path

from twincore.platform.graph.store import GraphStore
from twincore.platform.settings import Settings


def open_graph_store(settings: Settings) -> GraphStore:
    """Embedded FalkorDB at `graph.path` (default `<data_dir>/graph.db`) or Neo4j."""
    cfg = settings.graph
    if cfg.backend == "neo4j":
        from twincore.platform.graph.neo4j_store import Neo4jStore

        assert cfg.neo4j_uri is not None  # the settings validator guarantees it
        return Neo4jStore(
            cfg.neo4j_uri,
            cfg.neo4j_user,
            cfg.neo4j_password.get_secret_value(),
            cfg.neo4j_database,
        )
    from twincore.platform.graph.falkordb_store import FalkorDBStore

    path = embedded_graph_path(settings)
    assert path is not None  # not Neo4j, so embedded
    return FalkorDBStore(path)


def embedded_graph_path(settings: Settings) -> Path | None:
    """The embedded graph's database file (absolute), or None when the graph is Neo4j."""
    cfg = settings.graph
    if cfg.backend == "neo4j":
        return None
    path = cfg.path if cfg.path is not None else settings.data_dir / "graph.db"
    return path.resolve()
