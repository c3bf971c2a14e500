"""The request log: one row per gateway request, for usage accounting and debugging."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from twincore.platform.db.base import Base, UTCDateTime, utcnow
from twincore.platform.db.engine import create_db_engine, session_factory, session_scope


class RequestLogEntry(Base):
    """What one request asked, which core answered, what it cost and how it ended."""

    __tablename__ = "request_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    status_code: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    core: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(64))
    """The model the client asked for (auto, deep, swift)."""
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The router's decision: core, reason, budget, fallback."""
    fallback: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


def record_request(
    session: Session,
    *,
    request_id: str,
    method: str,
    path: str,
    status_code: int,
    duration_ms: float,
    api_key_id: int | None = None,
    core: str | None = None,
    model: str | None = None,
    decision: dict[str, Any] | None = None,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    error: str | None = None,
) -> RequestLogEntry:
    """Append one entry (the caller's transaction commits it)."""
    entry = RequestLogEntry(
        request_id=request_id,
        method=method,
        path=path[:512],
        status_code=status_code,
        duration_ms=duration_ms,
        api_key_id=api_key_id,
        core=core,
        model=model,
        decision=decision,
        fallback=bool(decision and decision.get("fallback_from")),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        error=error,
    )
    session.add(entry)
    session.flush()
    return entry


def recent_requests(
    *, database_url: str, limit: int = 20, routed_only: bool = False
) -> list[dict[str, Any]]:
    """The newest `limit` entries, newest first, as plain rows for screens and reports.

    `routed_only` keeps the requests that asked for a model (chat completions), leaving out
    listings such as /v1/models. `reason` comes from the stored routing decision, when any.
    """
    statement = select(RequestLogEntry)
    if routed_only:
        statement = statement.where(RequestLogEntry.model.is_not(None))
    statement = statement.order_by(
        RequestLogEntry.created_at.desc(), RequestLogEntry.id.desc()
    ).limit(limit)
    engine = create_db_engine(database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            return [_summary(entry) for entry in session.scalars(statement)]
    finally:
        engine.dispose()


def _summary(entry: RequestLogEntry) -> dict[str, Any]:
    decision: Any = entry.decision
    if isinstance(decision, str):  # a decision stored double-encoded, as a JSON string
        try:
            decision = json.loads(decision)
        except ValueError:
            decision = None
    reason = decision.get("reason") if isinstance(decision, dict) else None
    return {
        "time": entry.created_at,
        "request_id": entry.request_id,
        "method": entry.method,
        "path": entry.path,
        "model": entry.model,
        "core": entry.core,
        "reason": reason if isinstance(reason, str) else None,
        "fallback": entry.fallback,
        "status": entry.status_code,
        "latency_ms": entry.duration_ms,
        "prompt_tokens": entry.prompt_tokens,
        "completion_tokens": entry.completion_tokens,
        "error": entry.error,
    }
