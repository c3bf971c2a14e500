"""The check of a SAR narrative against its case's fact sheet.

`check_narrative` finds every number and date in the text and flags the ones the fact sheet does
not support, plus missing sections and dates out of time order. A core's draft and an analyst's
edit are checked the same way.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from twincore.services.aml.prompts import SECTIONS

_DATE = re.compile(
    r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])\d+(?:\.\d+)?")
_SECTION = re.compile(r"^\s*[#*]*\s*(WHO|WHAT|WHEN|WHERE|WHY|HOW)\b\s*[*]*\s*:", re.M | re.I)


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
