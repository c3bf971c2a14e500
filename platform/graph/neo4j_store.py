"""Neo4j backend through the official driver (Bolt URI, auth, database, timeouts)."""

from __future__ import annotations

from typing import Any

from twincore.platform.graph.store import GraphError, GraphSchema, GraphUnavailable, Row, introspect


class Neo4jStore:
    """A Neo4j database; read queries run in read transactions with a server-side timeout."""

    backend = "neo4j"

    def __init__(
        self, uri: str, user: str, password: str, database: str, *, timeout_s: float = 5.0
    ) -> None:
        import neo4j

        self._neo4j = neo4j
        self.database = database
        self.timeout_s = timeout_s
        self._driver = neo4j.GraphDatabase.driver(
            uri, auth=(user, password), connection_timeout=timeout_s
        )

    def query(
        self, cypher: str, params: dict[str, Any] | None = None, *, read_only: bool = True
    ) -> list[Row]:
        neo4j = self._neo4j
        query = neo4j.Query(cypher, timeout=self.timeout_s)
        mode = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS
        try:
            with self._driver.session(database=self.database, default_access_mode=mode) as s:
                result = s.run(query, params or {})
                return [_plain_record(r.data()) for r in result]
        except neo4j.exceptions.Neo4jError as exc:
            raise GraphError(f"graph query failed: {exc.message or exc}") from exc
        except neo4j.exceptions.DriverError as exc:
            raise GraphUnavailable(f"graph connection failed: {exc}") from exc

    def schema(self) -> GraphSchema:
        return introspect(self)

    def clear(self) -> None:
        self.query("MATCH (n) DETACH DELETE n", read_only=False)

    def close(self) -> None:
        self._driver.close()


def _plain_record(data: dict[str, Any]) -> Row:
    return {k: (v.isoformat() if hasattr(v, "iso_format") else v) for k, v in data.items()}
