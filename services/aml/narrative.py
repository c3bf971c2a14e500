"""SAR narratives: the fact sheet a narrative is written from, and the check of its numbers.

A core drafts the narrative from `facts_text(facts)` only; `check_narrative` then finds every
number and date in the text and flags the ones the fact sheet does not support, plus missing
sections and dates out of time order. An analyst's edit is checked the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from twincore.services.aml.prompts import SECTIONS

MAX_LISTED_TRANSACTIONS = 40
"""Transactions spelled out in the prompt; totals still cover the whole alert subgraph."""

_DATE = re.compile(
    r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])\d+(?:\.\d+)?")
_SECTION = re.compile(r"^\s*[#*]*\s*(WHO|WHAT|WHEN|WHERE|WHY|HOW)\b\s*[*]*\s*:", re.M | re.I)


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


def check_narrative(text: str, facts: dict[str, Any]) -> dict[str, Any]:
    """Every number and date of `text` against the fact sheet.

    `ok` is false when a number or date is unsupported, a section is missing, or the dates of
    the WHEN and HOW sections (of the whole text when it has neither) are not in time order.
    Numbers match a fact within 0.1% (so 9,499.87 may be written 9,500) or as part of an account
    name; years and the section numbering of lists are not checked.
    """
    allowed_numbers = _fact_numbers(facts)
    allowed_dates = {t["date"] for t in facts["transactions"]}
    allowed_dates |= {facts["totals"]["first_date"], facts["totals"]["last_date"]}
    identifiers = _identifier_numbers(facts)

    dates: list[str] = []
    without_dates = text
    for match in _DATE.finditer(text):
        dates.append(f"{match.group(1)}-{match.group(2)}-{match.group(3)}")
        without_dates = without_dates.replace(match.group(0), " ")
    bad_dates = sorted({d for d in dates if d not in allowed_dates})

    found: list[str] = []
    unsupported: list[str] = []
    for match in _NUMBER.finditer(without_dates):
        literal = match.group(0)
        value = float(literal.replace(",", ""))
        if _is_list_marker(without_dates, match.start()):
            continue
        found.append(literal)
        if literal.lstrip("+-") in identifiers or _supported(value, allowed_numbers):
            continue
        unsupported.append(literal)

    sections = _sections(text)
    missing = [s for s in SECTIONS if not sections.get(s)]  # absent or left empty
    if "WHEN" in sections or "HOW" in sections:
        # The time-ordered parts; WHY may quote the detectors' windows in any order.
        timeline = _dates_of(sections.get("WHEN", "")) + _dates_of(sections.get("HOW", ""))
    else:
        timeline = dates
    out_of_order = any(a > b for a, b in pairwise(timeline))
    mismatches = [f"{n} is not in the case facts" for n in unsupported]
    mismatches += [f"date {d} is not a date of the case's transactions" for d in bad_dates]
    return {
        "ok": not mismatches and not missing and not out_of_order,
        "numbers": found,
        "dates": dates,
        "mismatches": mismatches,
        "missing_sections": missing,
        "dates_in_order": not out_of_order,
    }


def _sections(text: str) -> dict[str, str]:
    """Each section heading's body (the text up to the next heading)."""
    marks = list(_SECTION.finditer(text))
    bodies: dict[str, str] = {}
    ends = [m.start() for m in marks[1:]] + [len(text)] if marks else []
    for mark, end in zip(marks, ends, strict=True):
        body = text[mark.end() : end]
        name = mark.group(1).upper()
        bodies[name] = f"{bodies.get(name, '')} {body}".strip()
    return bodies


def _dates_of(text: str) -> list[str]:
    return [f"{m.group(1)}-{m.group(2)}-{m.group(3)}" for m in _DATE.finditer(text)]


def _fact_numbers(facts: dict[str, Any]) -> list[float]:
    totals = facts["totals"]
    values: list[float] = [float(v) for v in totals.values() if isinstance(v, int | float)]
    values += [float(t["amount"]) for t in facts["transactions"]]
    for party in facts["counterparties"]:
        values += [float(party["count"]), float(party["total"])]
    score = float(facts["risk_score"])
    values += [score, round(score * 100, 2), float(facts["case_id"])]
    indicators = " ".join(facts["indicators"])
    values += [float(m.group(0).replace(",", "")) for m in _NUMBER.finditer(indicators)]
    for t in facts["transactions"]:
        values += [float(part) for part in re.findall(r"\d+", t["time"][11:])]  # hours, minutes
    return values


def _identifier_numbers(facts: dict[str, Any]) -> set[str]:
    """Digit runs inside account and bank names: quoting an account id is not a number claim."""
    names = [facts["subject"], *facts["banks"], *(p["account"] for p in facts["counterparties"])]
    return {run for name in names for run in re.findall(r"\d+", name)}


def _supported(value: float, allowed: list[float]) -> bool:
    if 1900 <= value <= 2100 and value.is_integer():
        return True  # a year: dates are checked as dates
    return any(abs(value - a) <= max(0.01, abs(a) * 0.001) for a in allowed)


def _is_list_marker(text: str, start: int) -> bool:
    """'1.' or '2)' at the start of a line numbers a list item, it claims nothing."""
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start].strip()
    rest = text[start:]
    return prefix in ("", "-", "*") and bool(re.match(r"\d{1,2}[.)]\s", rest))


def _days(rows: Sequence[FactTransaction]) -> int:
    if not rows:
        return 0
    # Calendar days, first and last included: what "within N days" means in a narrative.
    return int(rows[-1].ts // 86400 - rows[0].ts // 86400) + 1
