"""Storing a detection run's alerts, deduplicated across runs.

An alert is identified by its dataset and fingerprint (the account and its patterns): a run that
raises it again updates the stored row (latest run, rank, score, evidence, `runs_seen`) so the
alert keeps its id and its case; only a new account or a new mix of patterns adds a row. Each
alert also keeps what tells alerts apart when their rule scores all saturate near 1: how many
pattern hits, how much money they moved and over which period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from twincore.services.aml.detect.alerts import Alert
from twincore.services.aml.detect.detectors import PatternHit
from twincore.services.aml.ingest.frames import Dataset
from twincore.services.aml.models import AlertRecord

FINGERPRINT_CHARS = 300


def fingerprint(account_key: int, patterns: list[str]) -> str:
    """What makes two runs' alerts the same alert: the account and its set of patterns."""
    return f"{int(account_key)}:{'+'.join(sorted(set(patterns)))}"[:FINGERPRINT_CHARS]


@dataclass(frozen=True)
class AlertSummary:
    """The money and time behind an alert's pattern hits."""

    hits: int
    amount: float
    currency: str | None
    first_ts: int | None
    last_ts: int | None


def summarize(account: int, hits: list[PatternHit], dataset: Dataset) -> AlertSummary:
    """Hits the account is part of, and the sum, main currency and span of their transactions
    (each transaction counted once; none when a model raised the alert without a hit)."""
    mine = [hit for hit in hits if account in hit.accounts]
    txns = np.array(sorted({int(t) for hit in mine for t in hit.transactions}), dtype=np.int64)
    if not len(txns):
        return AlertSummary(len(mine), 0.0, None, None, None)
    rows = dataset.transactions.iloc[txns]
    currency = Counter(rows["currency"].astype(str)).most_common(1)[0][0]
    amount = float(rows.loc[rows["currency"].astype(str) == currency, "amount"].sum())
    return AlertSummary(
        len(mine), round(amount, 2), currency, int(rows["ts"].min()), int(rows["ts"].max())
    )


def store_run_alerts(
    session: Session,
    *,
    run_id: int,
    dataset_id: int,
    alerts: list[Alert],
    hits: list[PatternHit],
    dataset: Dataset,
) -> dict[str, int]:
    """Store the run's ranked alerts, updating the ones earlier runs raised; returns how many
    are new and how many were seen before."""
    prints = [fingerprint(a.subject_account, a.patterns) for a in alerts]
    existing: dict[str, AlertRecord] = {}
    for start in range(0, len(prints), 500):
        query = (
            select(AlertRecord)
            .where(
                AlertRecord.dataset_id == dataset_id,
                AlertRecord.fingerprint.in_(prints[start : start + 500]),
            )
            .order_by(AlertRecord.id)
        )
        # Pre-0010 duplicates share a fingerprint: the newest is the one carried forward.
        existing.update({row.fingerprint or "": row for row in session.scalars(query)})
    by_account = _hits_by_account(hits, {a.subject_account for a in alerts})
    seen_before = 0
    for rank, (alert, key) in enumerate(zip(alerts, prints, strict=True), start=1):
        summary = summarize(alert.subject_account, by_account[alert.subject_account], dataset)
        values: dict[str, Any] = {
            "run_id": run_id,
            "rank": rank,
            "score": float(alert.score),
            "patterns": list(alert.patterns),
            "reasons": list(alert.reasons),
            "transactions": [int(t) for t in alert.transactions],
            "accounts": [int(a) for a in alert.accounts],
            "hits": summary.hits,
            "amount": summary.amount,
            "currency": summary.currency,
            "first_ts": summary.first_ts,
            "last_ts": summary.last_ts,
        }
        row = existing.get(key)
        if row is None:
            session.add(
                AlertRecord(
                    dataset_id=dataset_id,
                    fingerprint=key,
                    account_key=int(alert.subject_account),
                    first_run_id=run_id,
                    runs_seen=1,
                    **values,
                )
            )
            continue
        seen_before += 1
        for name, value in values.items():
            setattr(row, name, value)
        row.runs_seen += 1
    session.flush()
    return {"new": len(alerts) - seen_before, "seen_before": seen_before}


def _hits_by_account(hits: list[PatternHit], wanted: set[int]) -> dict[int, list[PatternHit]]:
    grouped: dict[int, list[PatternHit]] = {a: [] for a in wanted}
    for hit in hits:
        for account in set(hit.accounts) & wanted:
            grouped[account].append(hit)
    return grouped
