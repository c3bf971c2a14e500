"""Word problems through the escalation ladder over a scripted transport (the model is canned per
core and seed; the sandbox, the checker and the ladder are real)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from twincore.model_core.engine.types import Usage
from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import ChatEnd, ChatEvent, ChatRequest, TextDelta
from twincore.platform.router.escalation import Ladder
from twincore.services.tutor.word.cascade import CheckedWord, solve_checked

QUESTION = "Natalia sold 48 clips in April and half as many in May. How many clips in all?"
BROKEN = "```python\napril = 48\nanswer = april + may\n```"  # NameError: the program fails
TUTOR = Ladder(("first", "more", "other"), max_attempts=3)


def program(may: str) -> str:
    return f"```python\napril = 48\nmay = {may}\nanswer = april + may\n```"


class CoresTransport:
    """Answers as the core asked for (`auto` goes to swift, as a cheap policy would) with the
    reply scripted for (core, seed); records every request."""

    target = "script"

    def __init__(self, replies: dict[tuple[str, int], str], budget: int = 1) -> None:
        self.replies, self.budget = replies, budget
        self.requests: list[tuple[str, int]] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        core = "swift" if request.model == "auto" else request.model
        seed = request.seed or 0
        self.requests.append((core, seed))
        yield TextDelta(self.replies[(core, seed)])
        usage = Usage(prompt_tokens=100, completion_tokens=10, cached_prompt_tokens=0)
        yield ChatEnd(core, "stop", usage, {"core": core, "candidates": self.budget})


def solve(transport: CoresTransport, requested: str = "auto") -> CheckedWord:
    model = TwincoreChatModel(transport=transport)
    return asyncio.run(solve_checked(QUESTION, model, TUTOR, requested=requested))


def test_a_failed_program_climbs_to_more_candidates_then_to_deep() -> None:
    transport = CoresTransport(
        {("swift", 0): BROKEN, ("swift", 1): program("24"), ("deep", 0): program("48 / 2")}
    )
    checked = solve(transport)
    block = checked.as_dict()["twincore"]
    steps = [(a["step"], a["core"], a["verdict"], a["candidates"]) for a in block["attempts"]]
    assert steps == [
        ("first", "swift", "fail", 1),
        ("more", "swift", "fail", 2),  # one program ran, one failed: no majority
        ("other", "deep", "pass", 1),
    ]
    assert "NameError" in block["attempts"][0]["reasons"][0]
    assert block["attempts"][1]["reasons"][0].startswith("only 1 of 2 candidates agree on 72")
    assert block["escalated"] and block["core"] == "deep" and block["verdict"]["passed"]
    assert checked.solution.answer == "72" and checked.solution.core == "deep"
    # `more` kept the greedy candidate's vote and asked only for the new sampled one
    assert transport.requests == [("swift", 0), ("swift", 1), ("deep", 0)]
    assert [a["tokens"] for a in block["attempts"]] == [10, 10, 10]


def test_an_answer_the_checker_accepts_stands_after_one_attempt() -> None:
    transport = CoresTransport({("swift", 0): program("24")})
    block = solve(transport).as_dict()["twincore"]
    assert [(a["step"], a["verdict"]) for a in block["attempts"]] == [("first", "pass")]
    assert not block["escalated"] and block["verdict"]["reasons"] == [
        "1 of 1 candidates' programs computed 72"
    ]


def test_a_pinned_core_never_leaves_it_and_the_last_answer_comes_back_failed() -> None:
    transport = CoresTransport({("swift", 0): program("24.5"), ("swift", 1): program("24.5")})
    checked = solve(transport, requested="swift")
    block = checked.as_dict()["twincore"]
    assert [(a["step"], a["core"]) for a in block["attempts"]] == [
        ("first", "swift"),
        ("more", "swift"),
    ]
    assert not block["verdict"]["passed"]
    assert "is not a whole number" in block["verdict"]["reasons"][0]
    assert checked.solution.answer == "72.5"  # returned with its failed check, never hidden
