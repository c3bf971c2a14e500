"""Friendly reasons over a scripted transport: a rewrite that adds nothing is kept, one that adds
a number, a formula, a variable or the wrong language falls back to the solver's reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import ChatEnd, ChatEvent, ChatRequest, TextDelta
from twincore.platform.errors import Invalid
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.steps.explain import (
    check_rewrite,
    clean_reply,
    friendly_reasons,
    friendly_reasons_detailed,
)

ORIGINAL = ("3*x = 15", "x = 5", "divide both sides by 3")


class ByReasonTransport:
    """Answers each request with the canned rewrite of the reason it carries."""

    target = "script"

    def __init__(self, rewrites: dict[str, str]) -> None:
        self.rewrites = rewrites
        self.requests: list[ChatRequest] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.requests.append(request)
        prompt = request.messages[-1]["content"]
        reason = prompt.rsplit("Reason: ", 1)[1]
        yield TextDelta(self.rewrites[reason])
        yield ChatEnd("swift", "stop", None, {"core": "swift", "candidates": 1})


@pytest.mark.parametrize(
    ("rewrite", "language"),
    [
        ("Now share both sides equally by 3, and x is all alone!", "en"),
        ("Split both sides into three equal parts.", "en"),
        ("Divide each side by 3 so that x = 5 stands by itself.", "en"),
        ("把两边同时除以 3，就能得到 x 啦。", "zh"),  # noqa: RUF001
        ("两边同时除以三，x 就单独留下了。", "zh"),  # noqa: RUF001
    ],
)
def test_a_rewrite_that_adds_nothing_is_accepted(rewrite: str, language: str) -> None:
    assert check_rewrite(rewrite, ORIGINAL, language) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rewrite", "language", "why"),
    [
        ("Divide both sides by 4 to get there.", "en", "number 4"),
        ("Divide by seven on both sides.", "en", "number 7"),
        ("Divide both sides by 3, so 3x/3 = 15/3.", "en", "expression"),
        ("Divide by 3 to find y.", "en", "variable 'y'"),
        ("Take √ of both sides.", "en", "sign"),
        ("两边同时除以 3。", "en", "not in English"),
        ("Divide both sides by 3.", "zh", "not in Chinese"),
        ("两边同时除以七。", "zh", "number 7"),
        ("", "en", "empty"),
        ("Divide. " * 50, "en", "longer"),
    ],
)
def test_a_rewrite_that_changes_the_maths_is_refused(rewrite: str, language: str, why: str) -> None:
    refusal = check_rewrite(rewrite, ORIGINAL, language)  # type: ignore[arg-type]
    assert refusal is not None and why in refusal


def test_replies_are_cleaned_to_one_sentence() -> None:
    assert (
        clean_reply('\n"Reason: Divide both sides by 3."\nMore text') == "Divide both sides by 3."
    )
    assert clean_reply("理由：两边同时除以 3") == "两边同时除以 3"  # noqa: RUF001


def test_each_step_gets_a_reason_and_refused_rewrites_fall_back_to_the_solver() -> None:
    steps = solve("3x + 7 = 22").steps
    transport = ByReasonTransport(
        {
            "the problem": "Here is the puzzle we want to solve!",
            "collect the x terms on the left and the constants on the right": (
                "Move 8 to the right side."  # a number the step does not have: refused
            ),
            "divide both sides by 3": "Share both sides out by 3 and x is alone.",
        }
    )
    model = TwincoreChatModel(transport=transport)
    detailed = asyncio.run(friendly_reasons_detailed(steps, "en", model))
    assert [r.source for r in detailed] == ["core", "solver", "core"]
    assert detailed[1].text == steps[1].reason and "number 8" in detailed[1].rejected
    texts = asyncio.run(friendly_reasons(steps, "en", model))
    assert texts == [r.text for r in detailed] and len(texts) == len(steps)
    assert "3*x + 7 = 22" in transport.requests[1].messages[-1]["content"]  # previous step shown
    assert "Simplified Chinese" not in transport.requests[0].messages[0]["content"]


def test_an_unknown_language_is_refused() -> None:
    model = TwincoreChatModel(transport=ByReasonTransport({}))
    with pytest.raises(Invalid, match="en or zh"):
        asyncio.run(friendly_reasons(solve("3x + 7 = 22").steps, "fr", model))  # type: ignore[arg-type]
