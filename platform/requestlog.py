"""The request log: one row per gateway request, for usage accounting and debugging."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    case,
    false,
    func,
    or_,
    select,
)
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
    service: Mapped[str | None] = mapped_column(String(32), index=True)
    """The service that answered (support, writing, ...); None for the OpenAI API."""
    source: Mapped[str] = mapped_column(String(8), default="api", server_default="api")
    """`api` for the REST API, `ui` for a call made from a Gradio screen."""
    verified: Mapped[bool | None] = mapped_column(Boolean)
    """Whether the service's checker accepted the answer that stands (None: nothing checked)."""
    escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # none_as_null: a request without attempts stores SQL NULL (not JSON 'null'), so filters
    # on "has attempts" work.
    attempts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    """Every checker-driven attempt: step, core, verdict, reasons, candidates, tokens, ms."""


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
    service: str | None = None,
    source: str = "api",
    verified: bool | None = None,
    attempts: list[dict[str, Any]] | None = None,
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
        service=service,
        source=source,
        verified=verified,
        escalated=bool(attempts and len(attempts) > 1),
        attempts=attempts,
    )
    session.add(entry)
    session.flush()
    return entry


def recent_requests(
    *, database_url: str, limit: int = 20, routed_only: bool = False
) -> list[dict[str, Any]]:
    """The newest `limit` entries, newest first, as plain rows for screens and reports.

    `routed_only` keeps the requests that reached a model: chat completions, service answers
    (with their attempts) and every call from a screen (its chat, its service calls, stopped or
    failed ones too), leaving out listings such as /v1/models. `reason` comes from the stored
    routing decision, when any.
    """
    statement = select(RequestLogEntry)
    if routed_only:
        entry = RequestLogEntry
        statement = statement.where(
            or_(entry.model.is_not(None), entry.attempts.is_not(None), entry.source == "ui")
        )
    statement = statement.order_by(
        RequestLogEntry.created_at.desc(), RequestLogEntry.id.desc()
    ).limit(limit)
    engine = create_db_engine(database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            return [_summary(entry) for entry in session.scalars(statement)]
    finally:
        engine.dispose()


def service_summary(*, database_url: str) -> list[dict[str, Any]]:
    """Per service, over its checked answers (API and screens): how many, the share swift
    answered, the share that escalated, and the share the checker accepted in the end."""
    entry = RequestLogEntry
    statement = (
        select(
            entry.service,
            func.count(),
            func.sum(case((entry.core == "swift", 1), else_=0)),
            func.sum(case((entry.escalated.is_(True), 1), else_=0)),
            func.sum(case((entry.verified.is_(True), 1), else_=0)),
            func.sum(entry.completion_tokens),
        )
        .where(entry.service.is_not(None), entry.attempts.is_not(None))
        .group_by(entry.service)
        .order_by(entry.service)
    )
    engine = create_db_engine(database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            rows = session.execute(statement).all()
    finally:
        engine.dispose()
    return [
        {
            "service": service,
            "answers": count,
            "swift_share": round((swift or 0) / count, 3),
            "escalation_rate": round((escalated or 0) / count, 3),
            "verified_rate": round((verified or 0) / count, 3),
            "tokens_per_answer": round((tokens or 0) / count, 1),
        }
        for service, count, swift, escalated, verified, tokens in rows
    ]


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
        "service": entry.service,
        "source": entry.source,
        "verified": entry.verified,
        "attempts": entry.attempts,
    }
