"""The AML tables: the data (datasets, their accounts and transactions) and the work done on it
(detection runs, ranked alerts, cases, their audit trail, SAR narratives).

Rows of a dataset are keyed by (dataset_id, dense key) so a dataset loads back into a `Dataset`
with the same account keys and transaction ids; deleting a dataset deletes its rows (ON DELETE
CASCADE in the database, so bulk rows never pass through the ORM). `aml_case_events` is
append-only: the ORM refuses to update or delete an event, and nothing in the service offers to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from twincore.platform.db.base import Base, UTCDateTime, utcnow

DATASET_STATUSES = ("ready",)
"""A dataset row is written with its rows in one transaction, so the only visible state is ready."""


class AmlDataset(Base):
    """One ingested or generated dataset."""

    __tablename__ = "aml_datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source_format: Mapped[str] = mapped_column(String(16))
    """amlsim, amlworld or canonical."""
    label_level: Mapped[str | None] = mapped_column(String(16))
    """account, transaction, or None when the data carries no labels."""
    n_accounts: Mapped[int] = mapped_column(Integer)
    n_transactions: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="ready")


class AmlAccount(Base):
    """One account of a dataset; `key` is its dense index 0..n_accounts-1."""

    __tablename__ = "aml_accounts"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("aml_datasets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bank: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(64))
    """The account id in the source data (unique together with bank)."""
    label: Mapped[int | None] = mapped_column(SmallInteger)
    """1 laundering/fraud, 0 clean, None unknown."""


class AmlTransaction(Base):
    """One transaction of a dataset; `txn` is its dense index in time order."""

    __tablename__ = "aml_transactions"
    __table_args__ = (
        Index("ix_aml_transactions_dataset_id_src", "dataset_id", "src"),
        Index("ix_aml_transactions_dataset_id_dst", "dataset_id", "dst"),
    )

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("aml_datasets.id", ondelete="CASCADE"), primary_key=True
    )
    txn: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger)
    """Unix seconds, UTC."""
    src: Mapped[int] = mapped_column(Integer)
    dst: Mapped[int] = mapped_column(Integer)
    amount: Mapped[float] = mapped_column(Float)
    """The amount paid, in `currency`."""
    currency: Mapped[str] = mapped_column(String(32))
    payment_format: Mapped[str] = mapped_column(String(32))
    label: Mapped[int | None] = mapped_column(SmallInteger)


class DetectionRun(Base):
    """One detection pass over a dataset: which model, what budget, how it ended."""

    __tablename__ = "aml_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("aml_datasets.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    """done or failed (a run is stored when detection ends; older rows may say running)."""
    model_version: Mapped[str | None] = mapped_column(String(64))
    """The risk model's version; None when the detectors' rule score ranked the alerts."""
    budget: Mapped[int] = mapped_column(Integer)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Pattern hit counts, alert count, seconds per stage."""
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRecord(Base):
    """A ranked alert: the subject account, its score, why, and the subgraph shown.

    One row per (dataset, fingerprint): a later run that raises the same account with the same
    patterns updates the row (run, rank, score, evidence) instead of adding a copy, so the alert
    keeps its id and its case."""

    __tablename__ = "aml_alerts"
    __table_args__ = (
        UniqueConstraint("run_id", "rank"),
        Index("ix_aml_alerts_dataset_id_fingerprint", "dataset_id", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("aml_runs.id", ondelete="CASCADE"), index=True)
    """The latest run that raised the alert."""
    dataset_id: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str | None] = mapped_column(String(300))
    """`<account key>:<patterns, sorted, joined by +>`: what makes two runs' alerts the same."""
    first_run_id: Mapped[int | None] = mapped_column(Integer)
    runs_seen: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    hits: Mapped[int | None] = mapped_column(Integer)
    """Pattern hits the account takes part in."""
    amount: Mapped[float | None] = mapped_column(Float)
    """The money moved by the hits' transactions (in `currency`, the most common one)."""
    currency: Mapped[str | None] = mapped_column(String(32))
    first_ts: Mapped[int | None] = mapped_column(BigInteger)
    """When the hits' transactions start and end (Unix seconds, UTC)."""
    last_ts: Mapped[int | None] = mapped_column(BigInteger)
    rank: Mapped[int] = mapped_column(Integer)
    account_key: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    patterns: Mapped[list[str]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    transactions: Mapped[list[int]] = mapped_column(JSON, default=list)
    accounts: Mapped[list[int]] = mapped_column(JSON, default=list)


class Case(Base):
    """An investigation opened from an alert; its status moves only along the workflow's
    `TRANSITIONS` (cases/workflow.py)."""

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
    """The number check: every number found, and the ones the facts do not support; a core's
    draft also keeps its escalation's `twincore` block here (attempts, verdict, decision)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditTrailError(RuntimeError):
    """Raised when code tries to rewrite or remove an audit event."""


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: CaseEvent) -> None:
    raise AuditTrailError(f"case event {target.id} is part of the audit trail and cannot change")


event.listen(CaseEvent, "before_update", _refuse_change)
event.listen(CaseEvent, "before_delete", _refuse_change)
