"""The SAR narrative's fact sheet and number check (no model needed)."""

from __future__ import annotations

from typing import Any

from twincore.services.aml.narrative.check import check_narrative
from twincore.services.aml.narrative.facts import FactTransaction, build_facts, facts_text

DAY = 86400
T0 = 1_661_990_400  # 2022-09-01 00:00 UTC


def _facts() -> dict[str, Any]:
    rows = [
        FactTransaction(0, T0 + 3600, "b1/A", "b2/S", 9500.0, "USD", "Cash"),
        FactTransaction(1, T0 + DAY, "b1/B", "b2/S", 9800.0, "USD", "Cash"),
        FactTransaction(2, T0 + 3 * DAY, "b2/S", "b3/X", 19_000.0, "USD", "Wire"),
    ]
    return build_facts(
        case_id=7,
        dataset="demo",
        subject="b2/S",
        score=0.91,
        patterns=["fan-in", "structuring"],
        reasons=["2 deposits just under 10,000 within 2 days"],
        transactions=reversed(rows),  # the sheet sorts them into time order
    )


GOOD = """WHO: Account b2/S received funds from b1/A and b1/B and sent them on to b3/X.
WHAT: 3 transactions with 3 counterparties; the subject received 19,300.00 USD in 2 payments
and sent 19,000.00 USD.
WHEN: 2022-09-01 a deposit of 9,500.00 USD; 2022-09-02 a deposit of 9,800.00 USD;
2022-09-04 a wire of 19,000.00 USD.
WHERE: banks b1, b2 and b3, by Cash and Wire.
WHY: two deposits just under the 10,000 threshold within 2 days (structuring, fan-in);
risk score 0.91.
HOW: funds were gathered in cash, then moved out by wire within 4 days.
"""


def test_fact_sheet_orders_transactions_and_totals() -> None:
    facts = _facts()
    assert [t["txn"] for t in facts["transactions"]] == [0, 1, 2]
    totals = facts["totals"]
    assert totals["received_amount"] == 19_300.0
    assert totals["sent_amount"] == 19_000.0
    assert (totals["first_date"], totals["last_date"], totals["days"]) == (
        "2022-09-01",
        "2022-09-04",
        4,
    )
    text = facts_text(facts)
    assert "9,500.00 USD" in text and "b3/X" in text


def test_a_faithful_narrative_passes() -> None:
    report = check_narrative(GOOD, _facts())
    assert report["mismatches"] == []
    assert report["missing_sections"] == []
    assert report["ok"], report


def test_a_planted_wrong_amount_is_flagged() -> None:
    wrong = GOOD.replace("9,800.00 USD", "9,850.00 USD")
    report = check_narrative(wrong, _facts())
    assert not report["ok"]
    assert report["mismatches"] == ["9,850.00 is not in the case facts"]


def test_a_wrong_count_a_foreign_date_and_a_missing_section_are_flagged() -> None:
    text = GOOD.replace("3 transactions", "5 transactions").replace("2022-09-04", "2022-09-05")
    text = text.replace("HOW:", "Finally,").replace(
        "WHERE: banks b1, b2 and b3, by Cash and Wire.", "WHERE:"
    )
    report = check_narrative(text, _facts())
    assert "5 is not in the case facts" in report["mismatches"]
    assert "date 2022-09-05 is not a date of the case's transactions" in report["mismatches"]
    assert report["missing_sections"] == ["WHERE", "HOW"]
    assert not report["ok"]


def test_a_text_without_any_section_is_checked_too() -> None:
    report = check_narrative("Funds of 9,500.00 USD moved on 2022-09-01.", _facts())
    assert report["mismatches"] == []
    assert report["missing_sections"] == ["WHO", "WHAT", "WHEN", "WHERE", "WHY", "HOW"]
    assert not report["ok"]


def test_dates_out_of_time_order_fail() -> None:
    text = GOOD.replace(
        "2022-09-01 a deposit of 9,500.00 USD; 2022-09-02 a deposit of 9,800.00 USD",
        "2022-09-02 a deposit of 9,800.00 USD; 2022-09-01 a deposit of 9,500.00 USD",
    )
    report = check_narrative(text, _facts())
    assert report["mismatches"] == []
    assert not report["dates_in_order"] and not report["ok"]


def test_indicator_windows_quoted_under_why_do_not_break_the_time_order() -> None:
    text = GOOD.replace("WHY:", "WHY: windows 2022-09-02 to 2022-09-04 and 2022-09-01;")
    report = check_narrative(text, _facts())
    assert report["dates_in_order"] and report["ok"], report


def test_rounded_amounts_and_list_numbers_are_accepted() -> None:
    text = GOOD + "\n1. About 9,500 USD came first.\n2) Then 19,000 left.\n"
    assert check_narrative(text, _facts())["ok"]
