"""The generation loop over a scripted transport (replies are canned; the sandbox, the tests as
checker and the escalation ladder are real)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import ChatEnd, ChatEvent, ChatRequest, TextDelta
from twincore.platform.router.escalation import Ladder
from twincore.services.codegen.loop import CodeTask, LoopEvent, LoopRun, with_rounds
from twincore.services.codegen.service import check_task
from twincore.services.codegen.store import split_decision, stored_decision

WRONG = "```python\ndef add(a, b):\n    return a - b\n```"
RIGHT = "Fixed:\n```python\ndef add(a, b):\n    return a + b\n```"
TASK = CodeTask(language="python", spec="Add two numbers.", tests="assert add(2, 3) == 5\n")


class ScriptedTransport:
    """Answers with the next canned reply; records every request it got."""

    target = "script"

    def __init__(self, replies: list[str], candidates: int = 1) -> None:
        self.replies, self.candidates = list(replies), candidates
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.requests.append(request)
        reply = self.replies.pop(0)
        for i in range(0, len(reply), 7):
            yield TextDelta(reply[i : i + 7])
        decision = {"core": "deep", "candidates": self.candidates, "max_tokens": 512}
        yield ChatEnd("deep", "stop", None, decision)


def run(loop: LoopRun) -> list[LoopEvent]:
    async def collect() -> list[LoopEvent]:
        return [event async for event in loop.events()]

    # A thread of its own: a session that already drove Playwright keeps a loop running here.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, collect()).result()


def test_a_failing_candidate_is_repaired_from_the_sandbox_log() -> None:
    transport = ScriptedTransport([WRONG, RIGHT])
    model = TwincoreChatModel(transport=transport)
    loop = LoopRun(model, TASK, partial(check_task, TASK), n=1, rounds=2)
    events = run(loop)
    assert loop.outcome is not None and loop.outcome.passed
    attempts = loop.outcome.candidates[0].attempts
    assert [a.result.status for a in attempts] == ["failed", "ok"]
    assert "AssertionError" in attempts[0].result.stderr
    repair = transport.requests[1].messages[-1]["content"]
    assert "AssertionError" in repair and "assert add(2, 3) == 5" in repair
    assert transport.requests[1].messages[-2]["content"] == WRONG
    assert events[-1].kind == "verdict" and events[-1].text == "passed"
    assert "".join(e.text for e in events if e.kind == "text" and e.round == 0) == WRONG


def test_rounds_are_bounded_and_the_verdict_can_fail() -> None:
    transport = ScriptedTransport([WRONG, WRONG])
    loop = LoopRun(
        TwincoreChatModel(transport=transport), TASK, partial(check_task, TASK), n=1, rounds=1
    )
    run(loop)
    assert loop.outcome is not None and not loop.outcome.passed
    assert len(loop.outcome.candidates[0].attempts) == 2
    assert transport.replies == []


def test_the_router_budget_sets_the_number_of_candidates() -> None:
    transport = ScriptedTransport([WRONG, WRONG, RIGHT], candidates=3)
    loop = LoopRun(
        TwincoreChatModel(transport=transport), TASK, partial(check_task, TASK), n=None, rounds=0
    )
    run(loop)
    assert loop.outcome is not None
    assert len(loop.outcome.candidates) == 3
    assert loop.outcome.passed and loop.outcome.best is not None
    assert loop.outcome.best.index == 2
    sampled = transport.requests[1:]
    assert all(r.temperature > 0 for r in sampled) and {r.seed for r in sampled} == {1, 2}


class CoresTransport:
    """Replies per core from a queue each (`auto` is served by swift, as for easy code)."""

    target = "script"

    def __init__(self, replies: dict[str, list[str]]) -> None:
        self.replies = {core: list(queue) for core, queue in replies.items()}
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.requests.append(request)
        core = "swift" if request.model == "auto" else request.model
        yield TextDelta(self.replies[core].pop(0))
        yield ChatEnd(core, "stop", None, {"core": core, "candidates": 1})


def test_a_failure_is_repaired_then_escalated_to_the_other_core() -> None:
    transport = CoresTransport({"swift": [WRONG, WRONG], "deep": [RIGHT]})
    loop = LoopRun(
        TwincoreChatModel(transport=transport), TASK, partial(check_task, TASK), n=1, rounds=1
    )
    events = run(loop)
    outcome = loop.outcome
    assert outcome is not None and outcome.passed and outcome.twincore is not None
    attempts = outcome.twincore["attempts"]
    assert [(a["step"], a["core"], a["verdict"]) for a in attempts] == [
        ("first", "swift", "fail"),
        ("repair", "swift", "fail"),
        ("other", "deep", "pass"),
    ]
    assert attempts[0]["reasons"][0] == "the code did not pass its tests: failed (exit code 1)"
    # the repair turn shows the answer and the failing tests' output as the checker's reasons
    repair = transport.requests[1]
    assert repair.model == "swift" and repair.messages[-2]["content"] == WRONG
    assert "AssertionError" in repair.messages[-1]["content"]
    # the other core starts afresh from the task
    assert transport.requests[2].model == "deep" and len(transport.requests[2].messages) == 2
    (candidate,) = outcome.candidates
    assert [(a.round, a.step, a.core, a.result.status) for a in candidate.attempts] == [
        (0, "first", "swift", "failed"),
        (1, "repair", "swift", "failed"),
        (2, "other", "deep", "ok"),
    ]
    assert outcome.decision == {"core": "deep", "candidates": 1}
    assert events[-1].kind == "verdict" and events[-1].twincore == outcome.twincore
    assert {e.step for e in events if e.kind == "result"} == {"first", "repair", "other"}


def test_a_pinned_core_repairs_but_never_changes_core() -> None:
    transport = CoresTransport({"swift": [WRONG, WRONG, WRONG]})
    model = TwincoreChatModel(transport=transport, model="swift")
    loop = LoopRun(model, TASK, partial(check_task, TASK), n=1, rounds=2)
    run(loop)
    assert loop.outcome is not None and not loop.outcome.passed
    assert loop.outcome.twincore is not None
    steps = [(a["step"], a["core"]) for a in loop.outcome.twincore["attempts"]]
    assert steps == [("first", "swift"), ("repair", "swift"), ("repair", "swift")]
    assert loop.outcome.twincore["verdict"]["passed"] is False


def test_rounds_set_the_repair_rungs_of_the_policys_ladder() -> None:
    policy = Ladder(("first", "repair", "other"), max_attempts=3)
    assert with_rounds(policy, 0) == Ladder(("first", "other"), max_attempts=2)
    assert with_rounds(policy, 1) == policy
    assert with_rounds(policy, 3) == Ladder(
        ("first", "repair", "repair", "repair", "other"), max_attempts=5
    )
    no_repair = Ladder(("first", "other"), max_attempts=2)
    assert with_rounds(no_repair, 2) == no_repair  # the policy decides whether repair is a rung


def test_the_decision_column_keeps_the_escalation_and_gives_both_back() -> None:
    decision = {"core": "deep", "candidates": 1}
    block = {"core": "deep", "escalated": True, "attempts": [], "decision": decision}
    stored = stored_decision(decision, block)
    assert stored == {**decision, "twincore": {k: v for k, v in block.items() if k != "decision"}}
    assert split_decision(stored) == (decision, block)
    assert split_decision(decision) == (decision, None)  # runs stored before the escalation
    assert split_decision(None) == (None, None)
