"""How the writing screen shows a verdict: met or unmet with the attempts line, and each
finished attempt in the progress log (`apps/writing_views.py`)."""

from __future__ import annotations

from typing import Any

from twincore.apps import writing_views as views
from twincore.services.writing.checkers import check_text
from twincore.services.writing.generate.drafts import report_dict
from twincore.services.writing.registry import get_style

SIX_SYLLABLES = "An ancient stone lantern\nholds a puddle of spring rain\na frog wakes inside"


def _attempt(step: str, core: str, verdict: str) -> dict[str, Any]:
    reasons = ["5-7-5 syllables: line 1 has 6"] if verdict == "fail" else []
    return {"step": step, "core": core, "verdict": verdict, "reasons": reasons,
            "candidates": 1, "tokens": 20, "ms": 5.0}  # fmt: skip


def test_an_unmet_text_is_shown_as_unmet_with_its_attempts() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    block = {
        "attempts": [
            _attempt("first", "swift", "fail"),
            _attempt("repair", "swift", "fail"),
            _attempt("other", "deep", "fail"),
        ]
    }
    text = views.verdict_text({"status": "unmet", "report": report, "twincore": block})
    assert text.startswith("Unmet: the best text still fails 1 constraint(s)")
    assert "Try again" in text
    assert text.endswith("Attempts: swift fail -> swift repair fail -> deep other fail")


def test_a_met_text_and_a_draft_without_a_block() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    passed = {**report, "passed": True}
    block = {"attempts": [_attempt("first", "deep", "pass")]}
    met = views.verdict_text({"status": "met", "report": passed, "twincore": block})
    assert met == "Met: the text meets every constraint.\nAttempts: deep pass"
    assert views.verdict_text({"report": report}).startswith("Unmet")  # stored before the cascade
    event = {"attempt": 1, "step": "repair", "core": "swift", "report": report}
    assert views.attempt_line(event) == "attempt 2 (repair, swift): fail, 1/2 constraints"
