"""API keys and the request log against a real database, with transactional behaviour."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.auth import (
    ApiKey,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    verify_api_key,
)
from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.platform.requestlog import RequestLogEntry, record_request

SECRET = b"test-secret-key"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


def test_issue_verify_revoke(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        key, token = create_api_key(session, name="support-bot", secret_key=SECRET)
    assert token.startswith("tc_")
    with session_scope(sessions) as session:
        stored = session.get(ApiKey, key.id)
        assert stored is not None and token not in (stored.key_hash, stored.lookup)
        found = verify_api_key(session, token=token, secret_key=SECRET)
        tampered = token[:-1] + ("y" if token.endswith("x") else "x")
        assert found is not None and found.id == key.id
        assert verify_api_key(session, token=token, secret_key=b"other-secret") is None
        assert verify_api_key(session, token=tampered, secret_key=SECRET) is None
        assert verify_api_key(session, token="not-a-key", secret_key=SECRET) is None
    with session_scope(sessions) as session:
        assert session.get(ApiKey, key.id).last_used_at is not None  # type: ignore[union-attr]
        revoke_api_key(session, key_id=key.id)
    with session_scope(sessions) as session:
        assert verify_api_key(session, token=token, secret_key=SECRET) is None
        assert [k.active for k in list_api_keys(session)] == [False]
        with pytest.raises(LookupError):
            revoke_api_key(session, key_id=9999)


def test_failed_transaction_stores_nothing(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), session_scope(sessions) as session:
        key, _ = create_api_key(session, name="half", secret_key=SECRET)
        record_request(
            session,
            request_id="r1",
            method="POST",
            path="/v1/chat/completions",
            status_code=200,
            duration_ms=12.5,
            api_key_id=key.id,
            core="swift",
        )
        raise RuntimeError("crash after the writes, before commit")
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 0
        assert session.scalar(select(func.count()).select_from(RequestLogEntry)) == 0


def test_request_log_keeps_rows_when_their_key_is_deleted(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        key, _ = create_api_key(session, name="temp", secret_key=SECRET)
        entry = record_request(
            session,
            request_id="r2",
            method="GET",
            path="/v1/models",
            status_code=200,
            duration_ms=1.0,
            api_key_id=key.id,
        )
    with session_scope(sessions) as session:
        session.delete(session.get(ApiKey, key.id))
    with session_scope(sessions) as session:
        kept = session.get(RequestLogEntry, entry.id)
        assert kept is not None and kept.api_key_id is None


def test_invalid_key_name_is_refused(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session, pytest.raises(ValueError, match="name"):
        create_api_key(session, name="   ", secret_key=SECRET)
