"""Per-request bookkeeping: a record filled in while the request runs, written after it ends.

The writes happen on one background thread in small batches, so a request never waits for the
database; `flush()` waits until everything queued so far is stored (tests, shutdown).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.errors import Unavailable
from twincore.platform.requestlog import record_request

logger = logging.getLogger(__name__)

BATCH = 64
OUTAGE_RETRY_S = 120.0
"""How long the writer keeps retrying a batch while the database is unreachable."""


@dataclass
class RequestRecord:
    """What the request log and the metrics need to know about one request."""

    request_id: str
    method: str
    path: str
    status_code: int = 500
    duration_ms: float = 0.0
    api_key_id: int | None = None
    model: str | None = None
    core: str | None = None
    decision: dict[str, Any] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_s: float | None = None
    error: str | None = None
    service: str | None = None
    source: str = "api"
    verified: bool | None = None
    attempts: list[dict[str, Any]] | None = None


class RequestLogWriter:
    """Stores records on a daemon thread; a failed batch is logged, never raised to a request
    (one the database could not take because it was unreachable is retried first)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._queue: queue.Queue[RequestRecord | threading.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)
        self._thread.start()

    def submit(self, record: RequestRecord) -> None:
        self._queue.put(record)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record submitted before this call is stored."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[RequestRecord] = []
            markers: list[threading.Event] = []
            stop = False
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    markers.append(item)
                else:
                    batch.append(item)
                if len(batch) >= BATCH or self._queue.empty():
                    break
                item = self._queue.get()
            self._store(batch)
            for marker in markers:
                marker.set()
            if stop:
                return

    def _store(self, batch: list[RequestRecord]) -> None:
        """Store the batch; while the database is unreachable (a PostgreSQL restart), retry
        for up to `OUTAGE_RETRY_S` so the rows of requests already answered are not lost."""
        if not batch:
            return
        deadline = time.monotonic() + OUTAGE_RETRY_S
        wait = 0.5
        while True:
            try:
                store_records(self._sessions, batch)
                return
            except Unavailable:
                if time.monotonic() + wait > deadline:
                    logger.error(
                        "database unreachable for %.0f s: %d request log entries lost",
                        OUTAGE_RETRY_S,
                        len(batch),
                    )
                    return
                time.sleep(wait)
                wait = min(wait * 2, 5.0)
            except Exception:
                logger.exception("could not store %d request log entries", len(batch))
                return


def store_records(sessions: sessionmaker[Session], records: list[RequestRecord]) -> None:
    """Store the records in one transaction."""
    with session_scope(sessions) as session:
        for r in records:
            record_request(
                session,
                request_id=r.request_id,
                method=r.method,
                path=r.path,
                status_code=r.status_code,
                duration_ms=r.duration_ms,
                api_key_id=r.api_key_id,
                core=r.core,
                model=r.model,
                decision=r.decision,
                prompt_tokens=r.prompt_tokens,
                completion_tokens=r.completion_tokens,
                error=r.error,
                service=r.service,
                source=r.source,
                verified=r.verified,
                attempts=r.attempts,
            )


def store_record(database_url: str, record: RequestRecord) -> None:
    """Store one record now, for a caller with no gateway writer at hand (a screen's own chat
    with the router); a failure is logged, never raised: the log must not break the screen."""
    engine = create_db_engine(database_url)
    try:
        store_records(session_factory(engine), [record])
    except Exception:
        logger.exception("could not store the request log entry %s", record.request_id)
    finally:
        engine.dispose()
