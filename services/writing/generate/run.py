"""Checker-guided generation: compose (topic -> text) or rewrite (text -> style) through LangChain,
climbing the router's escalation ladder (`platform/router/escalation.py`) with the style's
constraint checker as the verifier.

One attempt per rung: `first` writes `n` candidates from the same prompt (the first greedy,
the others sampled with their own seeds; `n=None` takes the router's budget `candidates` from
the first answer) and keeps the best (checker score, then content similarity for rewrites,
then index); `more` writes more candidates the same way; `repair` writes one greedy revision of
the previous best, shown every failed constraint with its reason and, for verse, each line as
the checker counted it; `other` starts afresh on the other core (swift -> deep, only when the
caller asked for `auto`). The ladder stops at the first text that meets every constraint; else
the last text (or an earlier one with a strictly higher score) is returned as `unmet` with its
report. This replaces the run's former best-of-n + one revise turn: the revise turn is the
`repair` rung, so there is one retry loop, the router's.

With `guided=False` the first candidate is returned as written (one attempt, no checker
selection): the baseline the evaluation compares against. Since the first candidate is greedy
either way, a guided run's first draft is exactly what the unguided run returns, so the
evaluation reads both conditions off one run. `seed` samples every candidate (a "try again").

Every request carries the style's form grammar (`forms.py`: lines, characters per line, the
绝句 rhyme, word and character counts), so the engine cannot write outside the form; what a
grammar cannot hold (English syllables and rhymes) is left to best-of-n and the checker.
`forms=False` drops the grammar (the evaluation's "before"). A rewrite is also checked for
copying: failing its style above `COPY_THRESHOLD` similarity is a failed `style_change`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.errors import Invalid
from twincore.platform.router.escalation import Ladder, Rung, Tried, Verdict, escalate
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import AUTO
from twincore.services.writing.checkers import CheckReport, check_text
from twincore.services.writing.classify.classifier import StyleClassifier, load_classifier
from twincore.services.writing.forms import form_constraint
from twincore.services.writing.generate.drafts import (
    Draft,
    WritingEvent,
    WritingResult,
    WritingTask,
)
from twincore.services.writing.generate.echo import strip_echo
from twincore.services.writing.generate.similarity import content_similarity
from twincore.services.writing.prompts import COMPOSE, REWRITE, repair_turn, style_variables
from twincore.services.writing.registry import Style

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


def clean_reply(reply: str, style: Style | None = None) -> str:
    """The text of a reply: without a surrounding code fence, a leading "Here is ...:" line,
    trailing commentary about the text, outer blank lines and (given the style) the prompt's
    instructions echoed at its start or end. The screen shows a streaming reply through this
    too, so what is shown while it is written is what gets checked."""
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
    text = "\n".join(lines).strip()
    return strip_echo(text, style) if style is not None else text


def first_messages(task: WritingTask) -> list[BaseMessage]:
    variables = style_variables(task.style)
    if task.mode == "compose":
        return list(COMPOSE.format_messages(topic=task.prompt.strip(), **variables))
    return list(REWRITE.format_messages(source=task.prompt.strip(), **variables))


def _rank(draft: Draft) -> tuple[float, float, int]:
    """Higher is better: checker score, similarity, lower index."""
    return (draft.report.score, draft.similarity or 0.0, -draft.candidate)


def verdict_of(report: CheckReport) -> Verdict:
    """The escalation verdict of a checker report: pass only when every constraint passes."""
    return Verdict(report.passed, tuple(report.reasons), report.score)


def ladder_for(ladder: Ladder, *, guided: bool, revise: bool) -> Ladder:
    """The ladder a run climbs: one attempt when unguided, without `repair` when `revise` is off."""
    if not guided:
        return Ladder(("first",), max_attempts=1)
    if revise or "repair" not in ladder.steps:
        return ladder
    steps = tuple(step for step in ladder.steps if step != "repair")
    return Ladder(steps, ladder.max_attempts, ladder.max_tokens)


def _chat_turns(turns: list[dict[str, str]]) -> list[BaseMessage]:
    return [
        AIMessage(content=t["content"]) if t["role"] == "assistant" else HumanMessage(t["content"])
        for t in turns
    ]


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
        ladder: Ladder | None = None,
        seed: int | None = None,
        forms: bool = True,
    ) -> None:
        if n is not None and not 1 <= n <= MAX_CANDIDATES:
            raise Invalid(f"candidates must be between 1 and {MAX_CANDIDATES}", param="candidates")
        if max_tokens < 1:
            raise Invalid("max_tokens must be at least 1", param="max_tokens")
        self.model, self.task = model, task
        self.n, self.guided = (n if guided else 1), guided
        self.max_tokens, self.seed = max_tokens, seed
        self.ladder = ladder_for(ladder or Ladder(), guided=guided, revise=revise)
        self.classifier = classifier or load_classifier()
        # Every request of the run (candidates and repairs) carries the style's form grammar.
        self.constraint = form_constraint(task.style) if forms else None
        self.drafts: list[Draft] = []
        self.result: WritingResult | None = None
        self._events: asyncio.Queue[WritingEvent | None] = asyncio.Queue()
        self._attempts = 0

    async def run(self) -> WritingResult:
        """The whole generation without its events."""
        async for _ in self.events():
            pass
        assert self.result is not None
        return self.result

    async def events(self) -> AsyncIterator[WritingEvent]:
        """Reply text as it streams, each checked draft, each finished attempt, then the result."""
        climb = asyncio.create_task(self._climb())
        try:
            while (event := await self._events.get()) is not None:
                yield event
            await climb  # raises what the climb raised
        finally:
            if not climb.done():  # the consumer left early: stop generating
                climb.cancel()
                with suppress(asyncio.CancelledError):
                    await climb

    async def _climb(self) -> None:
        try:
            escalation = await escalate(
                self._attempt, self.ladder, model=self.model.model, candidates=self.n
            )
            best = escalation.answer
            probabilities = self.classifier.probabilities(best.text)
            predicted = max(probabilities, key=probabilities.__getitem__)
            twincore = escalation.as_dict()
            self.result = WritingResult(
                best, predicted, probabilities[predicted], list(self.drafts),
                escalation.decision, twincore,
            )  # fmt: skip
            self._events.put_nowait(
                WritingEvent("result", best.candidate, text=best.text, draft=best,
                             attempt=best.attempt, step=best.step, twincore=twincore)
            )  # fmt: skip
        finally:
            self._events.put_nowait(None)

    async def _attempt(self, rung: Rung) -> Tried[Draft]:
        """One rung: write its candidates (or its repair), check them, keep the best."""
        attempt, self._attempts = self._attempts, self._attempts + 1
        messages = first_messages(self.task)
        if rung.step == "repair":
            messages += _chat_turns(repair_turn(self.task.style, rung))
        drafts = [await self._write(rung, attempt, 0, messages)]
        decision = drafts[0].decision
        # A repair revises one text: one greedy reply, whatever the caller's best-of-n.
        budget = 1 if rung.step == "repair" else rung.candidates or _budget(decision)
        for index in range(1, budget if self.guided else 1):
            drafts.append(await self._write(rung, attempt, index, messages))
        best = max(drafts, key=_rank)
        self._events.put_nowait(
            WritingEvent("attempt", best.candidate, text=best.text, draft=best,
                         attempt=attempt, step=rung.step)
        )  # fmt: skip
        return Tried(
            best,
            verdict_of(best.report),
            core=best.core or rung.model,
            text=best.text,
            candidates=len(drafts),
            completion_tokens=sum(d.completion_tokens for d in drafts),
            decision=decision,
        )

    async def _write(
        self, rung: Rung, attempt: int, index: int, messages: list[BaseMessage]
    ) -> Draft:
        options: dict[str, Any] = {"max_tokens": self.max_tokens, "model": rung.model}
        if index > 0 or self.seed is not None or rung.step == "more":
            # Candidate 0 of the first attempts is greedy; every other sample has its own seed.
            seed = index + MAX_CANDIDATES * (attempt + 16 * (self.seed or 0))
            options.update(temperature=SAMPLING_TEMPERATURE, top_p=0.95, seed=seed)
        if self.constraint is not None:
            options["constraint"] = self.constraint
        reply, core, tokens, decision = "", None, 0, None
        writer = None if rung.model == AUTO else rung.model  # auto: known once it answered
        async for chunk in self.model.astream(messages, **options):
            if chunk.text:
                reply += chunk.text
                self._events.put_nowait(
                    WritingEvent(
                        "text", index, text=chunk.text, attempt=attempt, step=rung.step, core=writer
                    )
                )
            meta = chunk.response_metadata
            if meta.get("decision"):
                decision, core = meta["decision"], meta.get("core")
            if chunk.usage_metadata:
                tokens = chunk.usage_metadata["output_tokens"]
        text = clean_reply(reply, self.task.style)
        similarity = (
            content_similarity(self.task.prompt, text) if self.task.mode == "rewrite" else None
        )
        report = check_text(self.task.style, text, similarity=similarity)
        draft = Draft(index, text, report, similarity)
        draft.revised, draft.step, draft.attempt = rung.step == "repair", rung.step, attempt
        draft.core, draft.completion_tokens, draft.decision = core, tokens, decision
        self.drafts.append(draft)
        self._events.put_nowait(
            WritingEvent("draft", index, text=text, draft=draft, attempt=attempt, step=rung.step)
        )
        return draft


def _budget(decision: dict[str, Any] | None) -> int:
    """The router budget's candidates (capped), 1 without a decision."""
    budget = int((decision or {}).get("candidates", 1))
    return max(1, min(budget, MAX_CANDIDATES))
