"""The SAR draft's escalation verdict from the number/section check, and how the screen shows a
draft's attempts (no model needed)."""

from __future__ import annotations

from typing import Any

from tests.unit.services.aml.narrative.test_narrative import GOOD, _facts
from twincore.apps.aml_views import check_report
from twincore.platform.router.escalation import Verdict
from twincore.services.aml.narrative.check import check_narrative
from twincore.services.aml.narrative.draft import narrative_verdict


def test_a_faithful_narrative_passes_with_full_credit() -> None:
    assert narrative_verdict(check_narrative(GOOD, _facts())) == Verdict(True, (), 1.0)


def test_every_fault_is_a_reason_and_costs_credit() -> None:
    looping = "WHO: b2/S b1/A b1/B\n" + "b2/S 12,345.00 2022-09-09\n" * 3
    verdict = narrative_verdict(check_narrative(looping, _facts()))
    assert not verdict.passed
    assert "12,345.00 is not in the case facts" in verdict.reasons
    assert "date 2022-09-09 is not a date of the case's transactions" in verdict.reasons
    assert "sections missing or empty: WHAT:, WHEN:, WHERE:, WHY:, HOW:" in verdict.reasons
    assert verdict.score is not None and 0.0 < verdict.score < 1.0
    swapped = GOOD.replace("2022-09-01 a deposit", "2022-09-04 a deposit", 1)
    out_of_order = narrative_verdict(check_narrative(swapped, _facts()))
    assert any("time order" in r for r in out_of_order.reasons)


def test_a_draft_cut_off_at_the_limit_fails_even_when_its_numbers_check() -> None:
    verdict = narrative_verdict(check_narrative(GOOD, _facts()), cut_off=True)
    assert not verdict.passed and verdict.reasons == (
        "the narrative was cut off at the length limit; write it shorter",
    )


def _entry(check: dict[str, Any], block: dict[str, Any] | None) -> dict[str, Any]:
    core = "deep" if block else None
    return {"version": 2, "source": "draft", "author": "ana", "core": core, "check": check,
            "twincore": block}  # fmt: skip


def test_the_screen_shows_attempts_and_the_unmet_reasons() -> None:
    attempt = {"candidates": 1, "tokens": 50, "ms": 1.0}
    block = {
        "verdict": {"passed": False, "reasons": ["sections missing or empty: HOW:"], "score": 0.8},
        "attempts": [
            {**attempt, "step": "first", "core": "swift", "verdict": "fail", "reasons": ["x"]},
            {**attempt, "step": "repair", "core": "swift", "verdict": "fail", "reasons": ["y"]},
        ],
    }
    check = {"ok": False, "mismatches": [], "missing_sections": ["HOW"], "dates_in_order": True}
    shown = check_report(_entry(check, block))
    assert "- sections missing or empty: HOW:" in shown
    assert shown.endswith("Attempts: swift fail -> swift repair fail")
    passed = {**block, "verdict": {"passed": True, "reasons": [], "score": 1.0}}
    ok = check_report(_entry({**check, "ok": True}, passed))
    assert ok.startswith("✅") and "Attempts:" in ok
    edit = check_report(_entry(check, None))
    assert "missing sections: HOW" in edit and "Attempts" not in edit
