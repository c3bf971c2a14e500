"""JSON views of the AML rows, as the API and the app show them (and the subgraph queries)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twincore.services.aml.models import (
    AlertRecord,
    AmlAccount,
    AmlDataset,
    AmlTransaction,
    Case,
    CaseEvent,
    DetectionRun,
    Narrative,
)
from twincore.services.aml.narrative.facts import FactTransaction


def now() -> datetime:
    return datetime.now(UTC)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def dataset(row: AmlDataset) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "source_format": row.source_format,
        "label_level": row.label_level,
        "accounts": row.n_accounts,
        "transactions": row.n_transactions,
        "status": row.status,
        "created_at": _time(row.created_at),
    }


def run(row: DetectionRun, *, alerts: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "dataset_id": row.dataset_id,
        "status": row.status,
        "model_version": row.model_version,
        "budget": row.budget,
        "alerts": alerts,
        "stats": row.stats,
        "error": row.error,
        "created_at": _time(row.created_at),
        "finished_at": _time(row.finished_at),
    }


def run_stats(result: Any) -> dict[str, Any]:
    """What a run reports about itself: hits per pattern and the detection's own stats."""
    hits: dict[str, int] = {}
    for hit in result.hits:
        hits[hit.pattern] = hits.get(hit.pattern, 0) + 1
    stats: dict[str, Any] = {"pattern_hits": hits, "alerts": len(result.alerts)}
    extra = getattr(result, "stats", None)
    if isinstance(extra, dict):
        stats.update({k: v for k, v in extra.items() if k not in stats})
    return stats


def account_names(session: Session, dataset_id: int, keys: Iterable[int]) -> dict[int, str]:
    """`bank/account` of the given account keys."""
    wanted = sorted({int(k) for k in keys})
    names: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(AmlAccount.key, AmlAccount.bank, AmlAccount.account).where(
                AmlAccount.dataset_id == dataset_id, AmlAccount.key.in_(chunk)
            )
        )
        names.update({key: f"{bank}/{account}" for key, bank, account in rows})
    return names


def account_labels(session: Session, dataset_id: int, keys: Iterable[int]) -> dict[int, int | None]:
    wanted = sorted({int(k) for k in keys})
    rows = session.execute(
        select(AmlAccount.key, AmlAccount.label).where(
            AmlAccount.dataset_id == dataset_id, AmlAccount.key.in_(wanted)
        )
    )
    return {key: label for key, label in rows}


def cases_by_account(session: Session, dataset_id: int, keys: Iterable[int]) -> dict[int, int]:
    """The case each account is worked in: its active case, else its latest closed one."""
    runs = select(DetectionRun.id).where(DetectionRun.dataset_id == dataset_id)
    rows = session.execute(
        select(AlertRecord.account_key, Case.id, Case.status)
        .join(AlertRecord, AlertRecord.id == Case.alert_id)
        .where(AlertRecord.run_id.in_(runs), AlertRecord.account_key.in_(sorted(set(keys))))
        .order_by(Case.id)
    )
    found: dict[int, int] = {}
    active: set[int] = set()
    for key, case_id, status in rows:
        if key not in active:
            found[key] = case_id
        if status != "closed":
            active.add(key)
    return found


def alert(row: AlertRecord, names: dict[int, str], case_id: int | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "run_id": row.run_id,
        "rank": row.rank,
        "account_key": row.account_key,
        "account": names.get(row.account_key, str(row.account_key)),
        "score": round(row.score, 4),
        "patterns": row.patterns,
        "reasons": row.reasons,
        "transactions": len(row.transactions),
        "accounts": len(row.accounts),
        "hits": row.hits,
        "amount": row.amount,
        "currency": row.currency,
        "first_at": _epoch(row.first_ts),
        "last_at": _epoch(row.last_ts),
        "first_run_id": row.first_run_id or row.run_id,
        "runs_seen": row.runs_seen,
        "case_id": case_id,
    }


ALERT_CSV_FIELDS = (
    "alert_id",
    "rank",
    "account",
    "score",
    "patterns",
    "hits",
    "amount",
    "currency",
    "first_at",
    "last_at",
    "runs_seen",
    "case_id",
    "reasons",
)


def alerts_csv(alerts: list[dict[str, Any]]) -> str:
    """Alerts as CSV text: the columns above, lists joined by "; ", times in ISO UTC."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ALERT_CSV_FIELDS)
    for row in alerts:
        values = {**row, "alert_id": row["id"]}
        values["patterns"] = "; ".join(row["patterns"])
        values["reasons"] = "; ".join(row["reasons"])
        writer.writerow(["" if values[f] is None else values[f] for f in ALERT_CSV_FIELDS])
    return buffer.getvalue()


def _epoch(ts: int | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


def _transactions(session: Session, dataset_id: int, txns: list[int]) -> list[AmlTransaction]:
    rows: list[AmlTransaction] = []
    for start in range(0, len(txns), 500):
        chunk = txns[start : start + 500]
        query = select(AmlTransaction).where(
            AmlTransaction.dataset_id == dataset_id, AmlTransaction.txn.in_(chunk)
        )
        rows.extend(session.scalars(query))
    return sorted(rows, key=lambda r: (r.ts, r.txn))


def subgraph(
    session: Session, dataset_id: int, row: AlertRecord, names: dict[int, str] | None = None
) -> dict[str, Any]:
    """The alert's accounts and transactions (time order), for the plot and the table."""
    transactions = _transactions(session, dataset_id, list(row.transactions))
    keys = set(row.accounts) | {row.account_key}
    keys |= {t.src for t in transactions} | {t.dst for t in transactions}
    names = {**(names or {}), **account_names(session, dataset_id, keys)}
    labels = account_labels(session, dataset_id, keys)
    return {
        "accounts": [
            {
                "key": key,
                "name": names.get(key, str(key)),
                "subject": key == row.account_key,
                "label": labels.get(key),
            }
            for key in sorted(keys)
        ],
        "transactions": [
            {
                "txn": t.txn,
                "time": datetime.fromtimestamp(t.ts, UTC).strftime("%Y-%m-%d %H:%M"),
                "ts": t.ts,
                "src": t.src,
                "dst": t.dst,
                "from": names.get(t.src, str(t.src)),
                "to": names.get(t.dst, str(t.dst)),
                "amount": round(t.amount, 2),
                "currency": t.currency,
                "format": t.payment_format,
                "label": t.label,
            }
            for t in transactions
        ],
    }


def fact_transactions(
    session: Session, dataset_id: int, row: AlertRecord, names: dict[int, str] | None = None
) -> list[FactTransaction]:
    graph = subgraph(session, dataset_id, row, names)
    return [
        FactTransaction(
            txn=t["txn"],
            ts=t["ts"],
            sender=t["from"],
            receiver=t["to"],
            amount=t["amount"],
            currency=t["currency"],
            payment_format=t["format"],
        )
        for t in graph["transactions"]
    ]


def case(session: Session, row: Case) -> dict[str, Any]:
    alert_row = session.get_one(AlertRecord, row.alert_id)
    run_row = session.get_one(DetectionRun, alert_row.run_id)
    names = account_names(session, run_row.dataset_id, [alert_row.account_key])
    return {
        "id": row.id,
        "alert_id": row.alert_id,
        "run_id": run_row.id,
        "dataset_id": run_row.dataset_id,
        "account": names.get(alert_row.account_key, str(alert_row.account_key)),
        "score": round(alert_row.score, 4),
        "patterns": alert_row.patterns,
        "status": row.status,
        "assignee": row.assignee,
        "close_reason": row.close_reason,
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
    }


def event(row: CaseEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _time(row.at),
        "actor": row.actor,
        "kind": row.kind,
        "from_status": row.from_status,
        "to_status": row.to_status,
        "detail": row.detail,
    }


def narrative(row: Narrative) -> dict[str, Any]:
    """A narrative version; a core's draft carries its escalation as `twincore` (stored with
    the check), an analyst's edit has None."""
    check = {k: v for k, v in row.check.items() if k != "twincore"}
    return {
        "id": row.id,
        "case_id": row.case_id,
        "version": row.version,
        "source": row.source,
        "author": row.author,
        "core": row.core,
        "text": row.text,
        "check": check,
        "twincore": row.check.get("twincore"),
        "created_at": _time(row.created_at),
    }
