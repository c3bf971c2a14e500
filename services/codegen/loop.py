"""The generation loop: write code through LangChain, run it in the sandbox, climb the router's
escalation ladder until the tests pass.

The tests are the checker (`platform/router/escalation.py`). Each rung of codegen's ladder
(`escalation.ladders.codegen` in the routing policy: first, repair, other) is one round: its
candidates (greedy for one, sampled with their own seeds for several; `None`: the router's
budget) start from the same prompt, their code is extracted and run against the tests, and the
round's best candidate is its answer. A failing answer climbs: `repair` shows the model its
code and the failing tests' output (compiler error, failed assertion, timeout) as the checker's
reasons, `other` asks the other core afresh. `rounds` is how many repair rungs the ladder gets.

This replaces the per-candidate repair loop the service had: there is one retry loop, the
router's. Candidate `i` of every round is stored as the `i`-th attempt row of candidate `i`
(`round` = the rung's position), so a single-candidate run reads as one candidate repaired.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from langchain_core.messages import BaseMessage

from twincore.platform.chat_model import TwincoreChatModel, from_chat_messages
from twincore.platform.router.escalation import (
    Escalation,
    Ladder,
    Rung,
    Tried,
    Verdict,
    escalate,
    repair_messages,
)
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import AUTO
from twincore.platform.sandbox.extract import extract_code
from twincore.platform.sandbox.runner import RunResult
from twincore.services.codegen.prompts import WRITE, write_variables

SERVICE = "codegen"
HINTS = {"domain": "code"}
"""Requests carry `service="codegen"` and this hint, so an `auto` request is routed (and
budgeted: max tokens, candidates) as code by the router's policy."""
SAMPLING_TEMPERATURE = 0.8
_RANK = {"ok": 0, "failed": 1, "memory": 2, "killed": 2, "timeout": 3, "compile_error": 4}
MAX_LOG_CHARS = 1500
"""The tests' output a repair turn (and the response's reasons) carries."""

Checker = Callable[[str], RunResult]
"""Runs a candidate's code against the task's tests in the sandbox (blocking)."""


@dataclass(frozen=True)
class CodeTask:
    """What to write: a spec and/or a signature, in a language, with optional tests."""

    language: str
    spec: str = ""
    signature: str = ""
    tests: str = ""


@dataclass
class Attempt:
    """One round of one candidate: the reply, its code and the sandbox's verdict."""

    round: int
    reply: str
    code: str
    result: RunResult
    core: str | None = None
    completion_tokens: int = 0
    step: str = "first"
    """The ladder's rung this round was: first, repair, other (or more)."""


@dataclass
class Candidate:
    index: int
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].result.passed

    @property
    def code(self) -> str:
        return self.attempts[-1].code if self.attempts else ""


@dataclass(frozen=True)
class LoopEvent:
    """What the loop streams: reply text, a sandbox result, or the final verdict."""

    kind: Literal["text", "result", "verdict"]
    candidate: int
    round: int
    text: str = ""
    result: RunResult | None = None
    decision: dict[str, Any] | None = None
    step: str = "first"
    twincore: dict[str, Any] | None = None
    """On the verdict: the escalation's `twincore` block (every round's core and verdict)."""
    core: str | None = None
    """On text and results: the core writing this candidate, once the router has said."""


@dataclass
class Outcome:
    candidates: list[Candidate]
    best: Candidate | None
    decision: dict[str, Any] | None
    escalation: Escalation[int] | None = None
    """The rounds as the router's escalation saw them; its answer is the best candidate's index."""

    @property
    def passed(self) -> bool:
        return self.best is not None and self.best.passed

    @property
    def twincore(self) -> dict[str, Any] | None:
        return self.escalation.as_dict() if self.escalation else None


def codegen_chat_model(router: RouterClient, **fields: Any) -> TwincoreChatModel:
    """A chat model over `router` whose requests the router sees as code generation. The
    repetition guard is off by default here: code repeats lines on purpose (`return None`,
    `i += 1`), and the tests, not a loop detector, judge the answer."""
    return TwincoreChatModel.for_service(
        router, SERVICE, HINTS, **{"repetition_guard": False, **fields}
    )


def first_messages(task: CodeTask) -> list[BaseMessage]:
    variables = write_variables(task.language, task.spec, task.signature, task.tests)
    return list(WRITE.format_messages(**variables))


def best_candidate(candidates: list[Candidate]) -> Candidate | None:
    tried = [c for c in candidates if c.attempts]
    if not tried:
        return None
    return min(
        tried,
        key=lambda c: (_RANK[c.attempts[-1].result.status], len(c.attempts), c.index),
    )


def tests_verdict(result: RunResult) -> Verdict:
    """The checker's verdict on one run: passed, or why not with the tests' output."""
    if result.passed:
        return Verdict(True, ("the code passed its tests",), 1.0)
    why = f"the code did not pass its tests: {result.status}" + (
        f" ({result.reason})" if result.reason else ""
    )
    output = f"what happened when it ran against the tests:\n```\n{result.log(MAX_LOG_CHARS)}\n```"
    return Verdict(False, (why, output), 0.0)


def with_rounds(ladder: Ladder, rounds: int) -> Ladder:
    """`ladder` with its `repair` rung repeated `rounds` times (0: none); each repair round past
    the policy's one adds an attempt to its budget, so asking for rounds never drops a rung."""
    if rounds < 0:
        raise ValueError("rounds must be at least 0")
    steps = [s for step in ladder.steps for s in ([step] if step != "repair" else [step] * rounds)]
    extra = rounds - 1 if "repair" in ladder.steps else 0
    return replace(ladder, steps=tuple(steps), max_attempts=max(1, ladder.max_attempts + extra))


class LoopRun:
    """One run of the loop: iterate `events()`; `outcome` is set once the verdict is out.

    `n=None` takes each round's number of candidates from the router's budget (its first
    answer's decision); the others start when it is known. `ladder` is codegen's ladder from
    the routing policy (default: first, repair, other); `rounds` sets its repair rungs. The
    chat model's `model` is what the caller asked for: `auto` may escalate to the other core,
    a core's name pins every round to it.
    """

    def __init__(
        self,
        model: TwincoreChatModel,
        task: CodeTask,
        check: Checker,
        *,
        n: int | None = 1,
        rounds: int = 2,
        max_tokens: int = 512,
        sandbox_slots: asyncio.Semaphore | None = None,
        ladder: Ladder | None = None,
    ) -> None:
        if n is not None and n < 1:
            raise ValueError("n must be at least 1")
        self.ladder = with_rounds(ladder or Ladder(), rounds)
        self.model, self.task, self.check = model, task, check
        self.n, self.rounds, self.max_tokens = n, rounds, max_tokens
        self.slots = sandbox_slots or asyncio.Semaphore(2)
        self.candidates: list[Candidate] = []
        self.decision: dict[str, Any] | None = None
        self.outcome: Outcome | None = None
        self.escalation: Escalation[int] | None = None
        self._rounds = 0
        self._queue: asyncio.Queue[LoopEvent | None] = asyncio.Queue()

    async def events(self) -> AsyncIterator[LoopEvent]:
        """Reply text, sandbox results, then one verdict."""
        driver = asyncio.create_task(self._drive())
        try:
            while (event := await self._queue.get()) is not None:
                yield event
            await driver  # raises what the loop raised
        finally:
            if not driver.done():
                driver.cancel()
        self.candidates.sort(key=lambda c: c.index)
        escalation = self.escalation
        best = self.candidates[escalation.answer] if escalation else None
        decision = escalation.decision if escalation else self.decision
        self.outcome = Outcome(self.candidates, best, decision, escalation)
        yield LoopEvent(
            "verdict",
            best.index if best else -1,
            len(best.attempts) - 1 if best else -1,
            text="passed" if self.outcome.passed else "failed",
            result=best.attempts[-1].result if best else None,
            decision=decision,
            twincore=self.outcome.twincore,
        )

    async def run(self) -> Outcome:
        """The whole loop without its events."""
        async for _ in self.events():
            pass
        assert self.outcome is not None
        return self.outcome

    async def _drive(self) -> None:
        try:
            self.escalation = await escalate(
                self._round, self.ladder, model=self.model.model, candidates=self.n
            )
        finally:
            await self._queue.put(None)

    async def _round(self, rung: Rung) -> Tried[int]:
        """One rung of the ladder: its candidates written and checked; the best is its answer."""
        number, self._rounds = self._rounds, self._rounds + 1
        messages = [*first_messages(self.task), *from_chat_messages(repair_messages(rung))]
        decision: dict[str, Any] | None = None
        count = rung.candidates
        if count is None:
            first, decision = await self._candidate(rung, number, messages, 0, sampled=False)
            count = int((decision or {}).get("candidates", 1))
            rest = await asyncio.gather(
                *(self._candidate(rung, number, messages, i, True) for i in range(1, count))
            )
            attempts = [first, *(attempt for attempt, _ in rest)]
        else:
            done = await asyncio.gather(
                *(self._candidate(rung, number, messages, i, count > 1) for i in range(count))
            )
            attempts = [attempt for attempt, _ in done]
            decision = next((d for _, d in done if d), None)
        self.decision = self.decision or decision
        index, best = min(
            enumerate(attempts), key=lambda pair: (_RANK[pair[1].result.status], pair[0])
        )
        return Tried(
            index,
            tests_verdict(best.result),
            core=best.core or rung.model,
            text=best.reply,
            candidates=len(attempts),
            completion_tokens=sum(a.completion_tokens for a in attempts),
            decision=decision,
        )

    def _lane(self, index: int) -> Candidate:
        for candidate in self.candidates:
            if candidate.index == index:
                return candidate
        candidate = Candidate(index)
        self.candidates.append(candidate)
        return candidate

    async def _candidate(
        self,
        rung: Rung,
        number: int,
        messages: list[BaseMessage],
        index: int,
        sampled: bool,
    ) -> tuple[Attempt, dict[str, Any] | None]:
        lane = self._lane(index)
        options: dict[str, Any] = {"max_tokens": self.max_tokens}
        if rung.model != AUTO:
            options["model"] = rung.model
        if sampled:
            options.update(temperature=SAMPLING_TEMPERATURE, top_p=0.95, seed=index)
        reply, tokens, decision = "", 0, None
        core: str | None = None if rung.model == AUTO else rung.model
        async for chunk in self.model.astream(messages, **options):
            meta = chunk.response_metadata
            if meta.get("decision"):
                decision, core = meta["decision"], meta.get("core")
            if chunk.text:
                reply += chunk.text
                await self._queue.put(
                    LoopEvent("text", index, number, text=chunk.text, step=rung.step, core=core)
                )
            if chunk.usage_metadata:
                tokens = chunk.usage_metadata["output_tokens"]
        code = extract_code(reply, self.task.language)
        async with self.slots:
            result = await asyncio.to_thread(self.check, code)
        attempt = Attempt(number, reply, code, result, core, tokens, rung.step)
        lane.attempts.append(attempt)
        await self._queue.put(
            LoopEvent("result", index, number, text=code, result=result, step=rung.step, core=core)
        )
        return attempt, decision
