"""Checker-guided generation: compose (topic -> text) or rewrite (text -> style) through LangChain.

Each of `n` candidates is written from the same prompt (the first greedy, the others sampled
with their own seeds; `n=None` takes the router's budget `candidates` from the first answer) and
checked against the style's constraints. The best candidate (checker score, then content
similarity for rewrites, then index) gets at most one revise turn naming its failed
constraints; the revision is kept only when it scores at least as well. With `guided=False`
the first candidate is returned as written: the baseline the evaluation compares against. Since
the first candidate is greedy either way, a guided run's candidate 0 is exactly what the
unguided run returns, so the evaluation reads both conditions off one run.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.errors import Invalid
from twincore.platform.router.router import RouterClient
from twincore.services.writing.checkers import check_text
from twincore.services.writing.classify.classifier import StyleClassifier, load_classifier
from twincore.services.writing.generate.drafts import (
    Draft,
    WritingEvent,
    WritingResult,
    WritingTask,
)
from twincore.services.writing.generate.similarity import content_similarity
from twincore.services.writing.prompts import (
    COMPOSE,
    REWRITE,
    line_analysis,
    revise_message,
    style_variables,
)

SERVICE = "writing"
SAMPLING_TEMPERATURE = 0.8
MAX_CANDIDATES = 8


def writing_chat_model(router: RouterClient, **fields: Any) -> TwincoreChatModel:
    """A `TwincoreChatModel` whose requests the router sees (and budgets) as writing."""
    return TwincoreChatModel.for_service(router, SERVICE, **fields)


# Small models wrap the text in talk about it ("Here's a haiku:", "Explanation: ..."): a leading
# line like that is dropped, and everything from a later one on is cut.
_META = re.compile(
    r"^\s*(here'?s|here is|explanation\b|note:|the (above )?text (must|meets|follows|is)|"
    r"this (text|poem|haiku|sonnet|limerick|story|letter|abstract) (is|uses|follows|meets))",
    re.IGNORECASE,
)


def clean_reply(reply: str) -> str:
    """The text of a reply: without a surrounding code fence, a leading "Here is ...:" line,
    trailing commentary about the text, and outer blank lines."""
    lines = reply.strip().splitlines()
    if lines and lines[0].startswith("```"):
        lines = lines[1:]
    lines = [ln for ln in lines if not ln.strip().startswith("```")]
    if lines and _META.match(lines[0]) and lines[0].rstrip().endswith(":"):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if i > 0 and _META.match(line):
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def first_messages(task: WritingTask) -> list[BaseMessage]:
    variables = style_variables(task.style)
    if task.mode == "compose":
        return list(COMPOSE.format_messages(topic=task.prompt.strip(), **variables))
    return list(REWRITE.format_messages(source=task.prompt.strip(), **variables))


def _rank(draft: Draft) -> tuple[float, float, int, int]:
    """Higher is better: checker score, similarity, unrevised first, lower index."""
    return (draft.report.score, draft.similarity or 0.0, -int(draft.revised), -draft.candidate)


class WritingRun:
    """One generation: iterate `events()`; `result` is set once the last event is out."""

    def __init__(
        self,
        model: TwincoreChatModel,
        task: WritingTask,
        *,
        n: int | None = None,
        guided: bool = True,
        revise: bool = True,
        max_tokens: int = 256,
        classifier: StyleClassifier | None = None,
    ) -> None:
        if n is not None and not 1 <= n <= MAX_CANDIDATES:
            raise Invalid(f"candidates must be between 1 and {MAX_CANDIDATES}", param="candidates")
        if max_tokens < 1:
            raise Invalid("max_tokens must be at least 1", param="max_tokens")
        self.model, self.task = model, task
        self.n, self.guided, self.revise = n, guided, revise
        self.max_tokens = max_tokens
        self.classifier = classifier or load_classifier()
        self.drafts: list[Draft] = []
        self.decision: dict[str, Any] | None = None
        self.result: WritingResult | None = None

    async def run(self) -> WritingResult:
        """The whole generation without its events."""
        async for _ in self.events():
            pass
        assert self.result is not None
        return self.result

    async def events(self) -> AsyncIterator[WritingEvent]:
        """Reply text as it streams, each checked draft, then the result."""
        messages = first_messages(self.task)
        async for event in self._write(0, messages, sampled=False):
            yield event
        count = 1 if not self.guided else self._candidates()
        for index in range(1, count):
            async for event in self._write(index, messages, sampled=True):
                yield event
        best = max(self.drafts, key=_rank) if self.guided else self.drafts[0]
        if self.guided and self.revise and not best.report.passed:
            turn = [
                *messages,
                AIMessage(content=best.text),
                HumanMessage(
                    content=revise_message(
                        best.report.reasons, line_analysis(self.task.style, best.text)
                    )
                ),
            ]
            async for event in self._write(best.candidate, turn, sampled=False, revised=True):
                yield event
            best = max(self.drafts, key=_rank)
        probabilities = self.classifier.probabilities(best.text)
        predicted = max(probabilities, key=probabilities.__getitem__)
        self.result = WritingResult(
            best, predicted, probabilities[predicted], list(self.drafts), self.decision
        )
        yield WritingEvent("result", best.candidate, text=best.text, draft=best)

    def _candidates(self) -> int:
        if self.n is not None:
            return self.n
        budget = int((self.decision or {}).get("candidates", 1))
        return max(1, min(budget, MAX_CANDIDATES))

    async def _write(
        self, index: int, messages: list[BaseMessage], *, sampled: bool, revised: bool = False
    ) -> AsyncIterator[WritingEvent]:
        options: dict[str, Any] = {"max_tokens": self.max_tokens}
        if sampled:
            options.update(temperature=SAMPLING_TEMPERATURE, top_p=0.95, seed=index)
        reply, core, tokens = "", None, 0
        async for chunk in self.model.astream(messages, **options):
            if chunk.text:
                reply += chunk.text
                yield WritingEvent("text", index, text=chunk.text)
            meta = chunk.response_metadata
            if meta.get("decision"):
                self.decision = self.decision or meta["decision"]
                core = meta.get("core")
            if chunk.usage_metadata:
                tokens = chunk.usage_metadata["output_tokens"]
        text = clean_reply(reply)
        similarity = (
            content_similarity(self.task.prompt, text) if self.task.mode == "rewrite" else None
        )
        draft = Draft(index, text, check_text(self.task.style, text), similarity, revised)
        draft.core, draft.completion_tokens = core, tokens
        self.drafts.append(draft)
        yield WritingEvent("draft", index, text=text, draft=draft)
