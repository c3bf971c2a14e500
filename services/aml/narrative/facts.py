"""The fact sheet of a case: what a SAR narrative is written from and checked against.

`build_facts` gathers the subject, typology, counterparties, transactions in time order and the
totals a narrative may quote; `facts_text` is the sheet as the drafting prompt shows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_LISTED_TRANSACTIONS = 40
"""Transactions spelled out in the prompt; totals still cover the whole alert subgraph."""


@dataclass(frozen=True)
class FactTransaction:
    """One transaction of the alert's subgraph, as the fact sheet shows it."""

    txn: int
    ts: int
    sender: str
    receiver: str
    amount: float
    currency: str
    payment_format: str

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.ts, UTC).strftime("%Y-%m-%d")


def build_facts(
    *,
    case_id: int,
    dataset: str,
    subject: str,
    score: float,
    patterns: Sequence[str],
    reasons: Sequence[str],
    transactions: Iterable[FactTransaction],
) -> dict[str, Any]:
    """The fact sheet of a case: subject, typology, counterparties, transactions in time order
    and the totals a narrative may quote (JSON-ready, stored with every narrative version)."""
    rows = sorted(transactions, key=lambda t: (t.ts, t.txn))
    sent = [t for t in rows if t.sender == subject]
    received = [t for t in rows if t.receiver == subject]
    parties: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "total": 0.0})
    for t in rows:
        for party in (t.sender, t.receiver):
            if party != subject:
                parties[party]["count"] += 1
                parties[party]["total"] += t.amount
    currencies = sorted({t.currency for t in rows})
    return {
        "case_id": case_id,
        "dataset": dataset,
        "subject": subject,
        "risk_score": round(score, 4),
        "patterns": list(patterns),
        "indicators": list(reasons),
        "currencies": currencies,
        "banks": sorted({a.split("/")[0] for t in rows for a in (t.sender, t.receiver)}),
        "payment_formats": sorted({t.payment_format for t in rows}),
        "totals": {
            "transactions": len(rows),
            "counterparties": len(parties),
            "sent_count": len(sent),
            "sent_amount": round(sum(t.amount for t in sent), 2),
            "received_count": len(received),
            "received_amount": round(sum(t.amount for t in received), 2),
            "total_amount": round(sum(t.amount for t in rows), 2),
            "first_date": rows[0].date if rows else None,
            "last_date": rows[-1].date if rows else None,
            "days": _days(rows),
        },
        "counterparties": [
            {"account": name, "count": info["count"], "total": round(info["total"], 2)}
            for name, info in sorted(parties.items(), key=lambda item: -item[1]["total"])
        ],
        "transactions": [
            {
                "txn": t.txn,
                "date": t.date,
                "time": datetime.fromtimestamp(t.ts, UTC).strftime("%Y-%m-%d %H:%M"),
                "from": t.sender,
                "to": t.receiver,
                "amount": round(t.amount, 2),
                "currency": t.currency,
                "format": t.payment_format,
            }
            for t in rows
        ],
    }


def facts_text(facts: dict[str, Any]) -> str:
    """The fact sheet as the prompt shows it: compact lines, amounts as the narrative should
    write them."""
    totals = facts["totals"]
    currency = facts["currencies"][0] if len(facts["currencies"]) == 1 else "(mixed currencies)"
    lines = [
        f"Subject account: {facts['subject']}",
        f"Typology detected: {', '.join(facts['patterns']) or 'risk model score only'}",
        f"Risk score: {facts['risk_score']}",
        "Risk indicators: " + "; ".join(facts["indicators"]),
        f"Banks involved: {', '.join(facts['banks'])}",
        f"Payment formats: {', '.join(facts['payment_formats'])}",
        f"Period: {totals['first_date']} to {totals['last_date']} ({totals['days']} days)",
        f"Transactions: {totals['transactions']}, with {totals['counterparties']} counterparties",
        f"Sent by the subject: {totals['sent_count']} payments, "
        f"{money(totals['sent_amount'])} {currency}",
        f"Received by the subject: {totals['received_count']} payments, "
        f"{money(totals['received_amount'])} {currency}",
        "Counterparties (payments, total):",
    ]
    lines += [
        f"- {p['account']}: {p['count']}, {money(p['total'])}" for p in facts["counterparties"][:15]
    ]
    listed = facts["transactions"][:MAX_LISTED_TRANSACTIONS]
    lines.append(f"Transactions in time order ({len(listed)} of {totals['transactions']}):")
    lines += [
        f"- {t['time']} {t['from']} -> {t['to']}: {money(t['amount'])} {t['currency']} "
        f"by {t['format']}"
        for t in listed
    ]
    return "\n".join(lines)


def money(amount: float) -> str:
    return f"{amount:,.2f}"


def _days(rows: Sequence[FactTransaction]) -> int:
    if not rows:
        return 0
    # Calendar days, first and last included: what "within N days" means in a narrative.
    return int(rows[-1].ts // 86400 - rows[0].ts // 86400) + 1
