"""The generation loop over a scripted transport (replies are canned; the sandbox is real)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import ChatEnd, ChatEvent, ChatRequest, TextDelta
from twincore.services.codegen.loop import CodeTask, LoopEvent, LoopRun
from twincore.services.codegen.service import check_task

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
