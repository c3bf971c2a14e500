"""The AML data tables: datasets, their accounts and their transactions.

Rows of a dataset are keyed by (dataset_id, dense key) so a dataset loads back into a `Dataset`
with the same account keys and transaction ids; deleting a dataset deletes its rows (ON DELETE
CASCADE in the database, so bulk rows never pass through the ORM).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

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
