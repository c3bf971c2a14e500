"""Solving word problems over a scripted transport (canned replies; the sandbox is real):
candidates from the router's budget or a parameter, voting, explanations, bad input."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import ChatEnd, ChatEvent, ChatRequest, TextDelta
from twincore.platform.errors import Invalid
from twincore.services.tutor.word.problems import PROGRAM, WordSolution, solve_word_problem

QUESTION = "Natalia sold 48 clips in April and half as many in May. How many in all?"


def program(may: str) -> str:
    return f"```python\napril = 48\nmay = {may}\nanswer = april + may\n```"


class ScriptedTransport:
    """Answers candidate i (its seed; greedy is 0) with replies[i]; records the requests."""

    target = "script"

    def __init__(self, replies: list[str], budget: int = 1) -> None:
        self.replies, self.budget = replies, budget
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.requests.append(request)
        yield TextDelta(self.replies[request.seed or 0])
        yield ChatEnd("deep", "stop", None, {"core": "deep", "candidates": self.budget})


def solve(transport: ScriptedTransport, **options: Any) -> WordSolution:
    model = TwincoreChatModel(transport=transport)
    return asyncio.run(solve_word_problem(QUESTION, model, **options))


def test_candidates_vote_and_the_explanation_cites_the_computed_quantities() -> None:
    transport = ScriptedTransport([program("48 / 2"), program("48 * 2"), program("24.0")])
    solution = solve(transport, candidates=3)
    assert solution.answer == "72"
    assert solution.votes == {"72": 2, "144": 1}
    assert len(solution.programs) == 3
    assert solution.explanation == (
        "The program computed april = 48; may = 24; so the answer is 72."
    )
    greedy, *sampled = sorted(transport.requests, key=lambda r: r.seed or 0)
    assert greedy.temperature == 0.0 and greedy.seed is None
    assert [r.seed for r in sampled] == [1, 2] and all(r.temperature > 0 for r in sampled)
    # the few-shot prompt ends with the question; its examples are not GSM8K's
    assert greedy.messages[-1]["content"] == QUESTION
    assert "Natalia" not in str(greedy.messages[:-1])


def test_without_a_number_the_routers_budget_sets_the_candidates() -> None:
    transport = ScriptedTransport([program("24"), program("x"), program("24")], budget=3)
    solution = solve(transport)
    assert len(transport.requests) == 3
    statuses = [c.status for c in solution.candidates]
    assert statuses == ["ok", "failed", "ok"]
    assert solution.answer == "72" and solution.votes == {"72": 2}
    assert solution.core == "deep"


def test_direct_mode_reads_the_final_number_of_the_prose() -> None:
    replies = ["She sold 48 / 2 = 24 in May, 48 + 24 = 72 in all.\nAnswer: 72", "Answer: 70"]
    solution = solve(ScriptedTransport(replies), candidates=2, mode="direct")
    assert solution.answer == "72" and solution.programs == []
    assert solution.explanation.startswith("She sold")


def test_no_number_from_any_candidate_is_an_answer_of_none() -> None:
    solution = solve(ScriptedTransport(["I cannot solve this."]), candidates=1)
    assert solution.answer is None and solution.votes == {}
    assert solution.explanation == "No candidate produced a numeric answer."


@pytest.mark.parametrize(
    ("question", "options", "message"),
    [
        ("  ", {}, "empty"),
        (QUESTION, {"mode": "guess"}, "mode"),
        (QUESTION, {"candidates": 0}, "candidates"),
        (QUESTION, {"candidates": 99}, "candidates"),
    ],
)
def test_bad_input_is_refused_before_the_model_is_asked(
    question: str, options: dict[str, Any], message: str
) -> None:
    transport = ScriptedTransport([program("24")])
    model = TwincoreChatModel(transport=transport)
    with pytest.raises(Invalid, match=message):
        asyncio.run(solve_word_problem(question, model, **options))
    assert transport.requests == []


def test_program_aided_replies_are_constrained_to_one_block_ending_on_answer() -> None:
    transport = ScriptedTransport([program("48 / 2")])
    solve(transport, candidates=1)
    (request,) = transport.requests
    assert request.constraint == PROGRAM
    language = re.compile(PROGRAM.source)
    assert language.fullmatch(program("48 / 2"))
    # prose, a block without `answer`, or text after the block cannot be generated
    assert not language.fullmatch("The answer is 72.")
    assert not language.fullmatch("```python\napril = 48\n```")
    assert not language.fullmatch(program("24") + "\nDone.")


def test_direct_replies_are_free_text() -> None:
    transport = ScriptedTransport(["48 + 24 = 72\nAnswer: 72"])
    solve(transport, candidates=1, mode="direct")
    assert transport.requests[0].constraint is None
