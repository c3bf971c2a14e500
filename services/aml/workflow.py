"""AML workflow tables: detection runs, ranked alerts, cases, their audit trail, SAR narratives.

The data tables (datasets, accounts, transactions) live in `models.py`; these hold what the
analysts' work produces. `aml_case_events` is append-only: the ORM refuses to update or delete
an event, and nothing in the service offers to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from twincore.platform.db.base import Base, UTCDateTime, utcnow


class DetectionRun(Base):
    """One detection pass over a dataset: which model, what budget, how it ended."""

    __tablename__ = "aml_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("aml_datasets.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    """running, done or failed."""
    model_version: Mapped[str | None] = mapped_column(String(64))
    """The risk model's version; None when the detectors' rule score ranked the alerts."""
    budget: Mapped[int] = mapped_column(Integer)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Pattern hit counts, alert count, seconds per stage."""
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRecord(Base):
    """A ranked alert of a run: the subject account, its score, why, and the subgraph shown."""

    __tablename__ = "aml_alerts"
    __table_args__ = (UniqueConstraint("run_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("aml_runs.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    account_key: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    patterns: Mapped[list[str]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    transactions: Mapped[list[int]] = mapped_column(JSON, default=list)
    accounts: Mapped[list[int]] = mapped_column(JSON, default=list)


class Case(Base):
    """An investigation opened from an alert; its status moves only along `cases.TRANSITIONS`."""

    __tablename__ = "aml_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("aml_alerts.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100))
    close_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseEvent(Base):
    """One entry of a case's audit trail (append-only): who did what, from which status to which."""

    __tablename__ = "aml_case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("aml_cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    """opened, status, assigned, note or narrative."""
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class Narrative(Base):
    """One version of a case's SAR narrative: drafted by a core or edited by an analyst."""

    __tablename__ = "aml_narratives"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("aml_cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    """draft (written by a core) or edit (an analyst's text)."""
    author: Mapped[str] = mapped_column(String(100))
    core: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The fact sheet the narrative was written from and checked against."""
    check: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The number check: every number found, and the ones the facts do not support."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditTrailError(RuntimeError):
    """Raised when code tries to rewrite or remove an audit event."""


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: CaseEvent) -> None:
    raise AuditTrailError(f"case event {target.id} is part of the audit trail and cannot change")


event.listen(CaseEvent, "before_update", _refuse_change)
event.listen(CaseEvent, "before_delete", _refuse_change)
