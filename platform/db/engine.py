"""Engine and session factory: SQLite (WAL, foreign keys on) by default, PostgreSQL by URL.

A database that cannot be reached (PostgreSQL restarting, a dropped connection, SQLite locked
past its busy timeout) fails a transaction as `Unavailable` (503, retry later), never a 500:
the transaction is rolled back whole, so a write either is acknowledged and stored or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.errors import Unavailable

# PostgreSQL: give up on an unreachable server in seconds rather than the OS's TCP timeout, so
# a request during an outage gets its 503 quickly.
CONNECT_TIMEOUT_S = 5

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (Gradio pages, the gateway) run beside one writer; SQLite leaves
    # foreign keys off unless each connection asks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; for a SQLite file, create its folder first and set the pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping: a pooled connection that died with a restarted server is replaced on
    # checkout, so the first request after the restart does not fail on it.
    postgres = parsed.get_backend_name() == "postgresql"
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if postgres else {}
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (they are handed to the API layer)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back everything when it raises.
    A database that cannot be reached raises `Unavailable`."""
    try:
        with factory() as session, session.begin():
            yield session
    except DBAPIError as error:
        if not database_unreachable(error):
            raise
        # The driver's text names the server's address: it goes to the log, not the client.
        log.warning("database unreachable: %s", _first_line(error))
        raise Unavailable("the database is unavailable; retry shortly") from error


def database_unreachable(error: DBAPIError) -> bool:
    """Whether `error` says the database cannot be reached now (rather than that the statement
    is wrong): a lost or refused connection, a server shutting down, SQLite locked."""
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        # SQLite reports a missing table as OperationalError too: only a lock is "come back".
        return "locked" in str(error.orig) or "busy" in str(error.orig)
    return True  # psycopg: OperationalError is the connection's, not the statement's


def _first_line(error: DBAPIError) -> str:
    text = str(error.orig).strip()
    return text.splitlines()[0] if text else type(error).__name__
