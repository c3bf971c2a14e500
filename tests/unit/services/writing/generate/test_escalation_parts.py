"""How a writing run sits on the escalation ladder: the ladder it climbs, the verdict of a
checker report, the result's status and `twincore` block, and the stored block."""

from __future__ import annotations

from twincore.platform.router.escalation import Ladder, Verdict
from twincore.services.writing.checkers import check_text
from twincore.services.writing.generate.drafts import Draft, WritingResult
from twincore.services.writing.generate.run import ladder_for, verdict_of
from twincore.services.writing.registry import get_style
from twincore.services.writing.store import twincore_block

HAIKU = get_style("haiku")
GOOD = "an old silent pond\na frog jumps into the pond\nsplash! silence again"
SIX_SYLLABLES = "An ancient stone lantern\nholds a puddle of spring rain\na frog wakes inside"
BLOCK = {
    "core": "deep",
    "verdict": {"passed": False, "reasons": ["5-7-5"], "score": 0.5},
    "escalated": True,
    "attempts": [{"step": "first", "core": "swift", "verdict": "fail"}],
    "decision": {"core": "deep"},
}


def test_the_ladder_follows_guided_and_revise() -> None:
    policy = Ladder(("first", "repair", "other"), max_attempts=3, max_tokens=900)
    assert ladder_for(policy, guided=True, revise=True) == policy
    assert ladder_for(policy, guided=True, revise=False) == Ladder(("first", "other"), 3, 900)
    assert ladder_for(policy, guided=False, revise=True) == Ladder(("first",), max_attempts=1)


def test_the_verdict_is_the_checker_report() -> None:
    assert check_text(HAIKU, GOOD).passed
    assert verdict_of(check_text(HAIKU, GOOD)) == Verdict(True, (), 1.0)
    failed = check_text(HAIKU, SIX_SYLLABLES)
    verdict = verdict_of(failed)
    assert not verdict.passed and verdict.score == 0.5
    assert (
        verdict.reasons == tuple(failed.reasons) and "line 1 has 6 syllables" in verdict.reasons[0]
    )


def test_an_unmet_result_says_so_and_carries_its_block() -> None:
    first = Draft(0, SIX_SYLLABLES, check_text(HAIKU, SIX_SYLLABLES), None, core="swift")
    repaired = Draft(0, SIX_SYLLABLES, first.report, None, revised=True, core="swift")
    repaired.step, repaired.attempt = "repair", 1
    result = WritingResult(repaired, "haiku", 0.9, [first, repaired], None, BLOCK)
    body = result.as_dict()
    assert result.status == body["status"] == "unmet" and body["twincore"] == BLOCK
    assert [(d["attempt"], d["step"], d["revised"]) for d in body["drafts"]] == [
        (0, "first", False),
        (1, "repair", True),
    ]
    met = Draft(0, GOOD, check_text(HAIKU, GOOD), None)
    assert WritingResult(met, "haiku", 0.9, [met]).as_dict()["status"] == "met"


def test_only_an_escalation_block_reads_back_as_twincore() -> None:
    assert twincore_block(BLOCK) == BLOCK
    assert twincore_block({"core": "swift", "reason": "router decision of an older row"}) is None
    assert twincore_block(None) is None
