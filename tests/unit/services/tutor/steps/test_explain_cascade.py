"""Friendly reasons through the escalation ladder over a scripted transport (canned rewrites per
core and seed; the solver, `check_rewrite` and the ladder are real)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import ChatEnd, ChatEvent, ChatRequest, TextDelta
from twincore.platform.router.escalation import Ladder
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.steps.explain_cascade import CheckedReasons, explain_checked

TUTOR = Ladder(("first", "more", "other"), max_attempts=3)
INVENTED = "Add 99 to both sides."  # a number the step never had: refused
PLAIN = "Keep both sides balanced while you tidy up."


class RewriteTransport:
    """Rewrites as (core, seed) says; `auto` is served by swift. Records (core, seed)."""

    target = "script"

    def __init__(self, replies: dict[tuple[str, int], str]) -> None:
        self.replies = replies
        self.requests: list[tuple[str, int]] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        core = "swift" if request.model == "auto" else request.model
        key = (core, request.seed or 0)
        self.requests.append(key)
        yield TextDelta(self.replies.get(key, INVENTED))
        yield ChatEnd(core, "stop", None, {"core": core})


def explain(transport: RewriteTransport, requested: str = "auto") -> CheckedReasons:
    steps = solve("3x + 7 = 22").steps
    model = TwincoreChatModel(transport=transport)
    return asyncio.run(explain_checked(steps, "en", model, TUTOR, requested=requested))


def test_refused_rewrites_are_asked_again_with_samples_and_accepted_ones_stand() -> None:
    transport = RewriteTransport({("swift", 1): PLAIN})
    checked = explain(transport)
    attempts = checked.escalation.attempts
    assert [(a.step, a.core, a.verdict) for a in attempts] == [
        ("first", "swift", "fail"),
        ("more", "swift", "pass"),
    ]
    assert attempts[0].reasons[0].endswith("introduces the number 99")
    assert all(r.source == "core" and r.text == PLAIN for r in checked.reasons)
    steps = len(checked.reasons)
    # each step: the greedy rewrite, then sampled seed 1 (accepted, so seed 2 is never asked)
    assert sorted(transport.requests) == sorted([("swift", 0), ("swift", 1)] * steps)


def test_when_every_core_refuses_the_solvers_reasons_stay_and_say_why() -> None:
    transport = RewriteTransport({})
    checked = explain(transport)
    block = checked.escalation.as_dict()
    assert [(a["step"], a["verdict"]) for a in block["attempts"]] == [
        ("first", "fail"),
        ("more", "fail"),
        ("other", "fail"),
    ]
    assert block["attempts"][-1]["core"] == "deep" and not block["verdict"]["passed"]
    solver = [step.reason for step in solve("3x + 7 = 22").steps]
    assert [r.text for r in checked.reasons] == solver
    assert all(r.source == "solver" and "99" in r.rejected for r in checked.reasons)
