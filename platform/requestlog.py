"""The request log: one row per gateway request, for usage accounting and debugging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, Session, mapped_column

from twincore.platform.db.base import Base, UTCDateTime, utcnow


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
