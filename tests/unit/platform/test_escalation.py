"""The escalation ladder: which rungs run, what each is told, and what comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from twincore.platform.router.escalation import (
    Ladder,
    Rung,
    Tried,
    Verdict,
    escalate,
    repair_messages,
    summarize,
)
from twincore.platform.router.rules import PolicyFileError, load_policy

pytestmark = pytest.mark.anyio


class Script:
    """An attempt function whose verdicts are given per call; it records every rung."""

    def __init__(self, verdicts: list[Verdict | Exception], first_core: str = "swift") -> None:
        self.verdicts, self.first_core = verdicts, first_core
        self.rungs: list[Rung] = []

    async def __call__(self, rung: Rung) -> Tried[str]:
        self.rungs.append(rung)
        verdict = self.verdicts[len(self.rungs) - 1]
        if isinstance(verdict, Exception):
            raise verdict
        core = self.first_core if rung.model == "auto" else rung.model
        text = f"answer {len(self.rungs)}"
        return Tried(text, verdict, core, text, rung.candidates or 1, 10, 5)


FAIL = Verdict(False, ("the query ignores 'Exotic Liquids'",))
PASS = Verdict(True)


async def test_a_first_pass_does_not_escalate() -> None:
    script = Script([PASS])
    result = await escalate(script, Ladder())
    assert (result.answer, result.core, result.escalated) == ("answer 1", "swift", False)
    assert [a.verdict for a in result.attempts] == ["pass"]
    assert script.rungs == [Rung("first", "auto")]


async def test_a_rejected_answer_is_repaired_then_handed_to_deep() -> None:
    script = Script([FAIL, FAIL, PASS])
    result = await escalate(script, Ladder(("first", "repair", "other")))
    assert [(r.step, r.model) for r in script.rungs] == [
        ("first", "auto"),
        ("repair", "swift"),
        ("other", "deep"),
    ]
    assert script.rungs[1].feedback == FAIL.reasons
    assert script.rungs[1].previous == "answer 1"
    assert (result.answer, result.core, result.verdict.passed) == ("answer 3", "deep", True)
    assert summarize(result.attempts) == "swift fail -> swift repair fail -> deep other pass"
    blocks = result.as_dict()
    assert blocks["escalated"] is True
    assert blocks["attempts"][0]["reasons"] == list(FAIL.reasons)


async def test_every_rung_failing_returns_the_last_answer_with_its_verdict() -> None:
    script = Script([FAIL, FAIL, FAIL])
    result = await escalate(script, Ladder())
    assert result.answer == "answer 3"
    assert result.verdict == FAIL
    assert len(result.attempts) == 3


async def test_an_earlier_answer_with_more_credit_stands_over_a_worse_last_one() -> None:
    script = Script([Verdict(False, ("1 of 2 met",), 0.5), Verdict(False, ("0 of 2",), 0.0)])
    result = await escalate(script, Ladder(("first", "repair")))
    assert result.answer == "answer 1"


async def test_a_pinned_core_never_changes_core_and_deep_is_not_handed_down() -> None:
    pinned = Script([FAIL, FAIL])
    await escalate(pinned, Ladder(("first", "repair", "other")), model="swift")
    assert [r.model for r in pinned.rungs] == ["swift", "swift"]
    on_deep = Script([FAIL, FAIL], first_core="deep")
    result = await escalate(on_deep, Ladder(("first", "other", "repair")))
    assert [r.step for r in on_deep.rungs] == ["first", "repair"]
    assert result.core == "deep"


async def test_more_doubles_the_candidates_up_to_the_cap() -> None:
    script = Script([FAIL, FAIL, PASS])
    await escalate(script, Ladder(("first", "more", "other")), candidates=3)
    assert [(r.step, r.candidates) for r in script.rungs] == [
        ("first", 3),
        ("more", 6),
        ("other", 3),
    ]


async def test_the_attempt_and_token_budgets_stop_the_climb() -> None:
    short = Script([FAIL, FAIL, FAIL])
    result = await escalate(short, Ladder(("first", "repair", "other"), max_attempts=2))
    assert len(result.attempts) == 2
    tokens = Script([FAIL, FAIL, FAIL])
    result = await escalate(tokens, Ladder(("first", "repair", "other"), max_tokens=5))
    assert len(result.attempts) == 1  # the first attempt spent 5 completion tokens


async def test_a_raising_rung_is_recorded_and_the_next_rung_answers() -> None:
    script = Script([RuntimeError("the sandbox is gone\ntraceback..."), PASS])
    result = await escalate(script, Ladder(("first", "repair")))
    assert [a.verdict for a in result.attempts] == ["error", "pass"]
    assert result.attempts[0].reasons == ("the sandbox is gone",)


async def test_when_no_rung_answers_the_last_error_is_raised() -> None:
    script = Script([RuntimeError("one"), RuntimeError("two")])
    with pytest.raises(RuntimeError, match="two"):
        await escalate(script, Ladder(("first", "repair", "other")))


def test_a_repair_turn_shows_the_previous_answer_and_the_reasons() -> None:
    turns = repair_messages(Rung("repair", "swift", None, ("misses Chai",), "MATCH (p) RETURN p"))
    assert turns[0] == {"role": "assistant", "content": "MATCH (p) RETURN p"}
    assert "- misses Chai" in turns[1]["content"]
    assert repair_messages(Rung("other", "deep")) == []


def test_ladders_must_start_first_and_name_known_steps(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="starts with 'first'"):
        Ladder(("repair",))
    with pytest.raises(ValueError, match="unknown ladder steps"):
        Ladder(("first", "retry"))  # type: ignore[arg-type]
    bad = tmp_path / "policy.yaml"
    bad.write_text("escalation:\n  ladders:\n    support: [repair, other]\n")
    with pytest.raises(PolicyFileError, match="must start with 'first'"):
        load_policy(bad)
    assert load_policy().escalation.ladder("tutor").steps == ("first", "more", "other")
    assert load_policy().escalation.ladder("support").steps == ("first", "repair", "other")
