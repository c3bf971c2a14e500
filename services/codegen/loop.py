"""The generation loop: write code through LangChain, run it in the sandbox, repair, pick the best.

Each of `n` candidates starts from the same prompt (greedy for one candidate, sampled with its
own seed for several); its code is extracted and checked in the sandbox; a failure (compiler
error, failing assertion, timeout) goes back to the model as a repair turn, at most `rounds`
times. The winner is the first passing candidate in (fewest repairs, index) order; without one,
the candidate whose last check got furthest (ran > timed out > did not compile).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.router.router import RouterClient
from twincore.platform.sandbox.extract import extract_code
from twincore.platform.sandbox.runner import RunResult
from twincore.services.codegen.prompts import FENCE_TAGS, REPAIR, WRITE, write_variables

SERVICE = "codegen"
HINTS = {"domain": "code"}
"""Requests carry `service="codegen"` and this hint, so an `auto` request is routed (and
budgeted: max tokens, candidates) as code by the router's policy."""
SAMPLING_TEMPERATURE = 0.8
_RANK = {"ok": 0, "failed": 1, "memory": 2, "killed": 2, "timeout": 3, "compile_error": 4}

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


@dataclass
class Outcome:
    candidates: list[Candidate]
    best: Candidate | None
    decision: dict[str, Any] | None

    @property
    def passed(self) -> bool:
        return self.best is not None and self.best.passed


def codegen_chat_model(router: RouterClient, **fields: Any) -> TwincoreChatModel:
    """A chat model over `router` whose requests the router sees as code generation."""
    return TwincoreChatModel.for_service(router, SERVICE, HINTS, **fields)


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


class LoopRun:
    """One run of the loop: iterate `events()`; `outcome` is set once the verdict is out.

    `n=None` takes the number of candidates from the router's budget (the first answer's
    decision); the others start when it is known.
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
    ) -> None:
        if n is not None and n < 1:
            raise ValueError("n must be at least 1")
        if rounds < 0:
            raise ValueError("rounds must be at least 0")
        self.model, self.task, self.check = model, task, check
        self.n, self.rounds, self.max_tokens = n, rounds, max_tokens
        self.slots = sandbox_slots or asyncio.Semaphore(2)
        self.candidates: list[Candidate] = []
        self.decision: dict[str, Any] | None = None
        self.outcome: Outcome | None = None
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
        best = best_candidate(self.candidates)
        self.outcome = Outcome(self.candidates, best, self.decision)
        yield LoopEvent(
            "verdict",
            best.index if best else -1,
            len(best.attempts) - 1 if best else -1,
            text="passed" if self.outcome.passed else "failed",
            result=best.attempts[-1].result if best else None,
            decision=self.decision,
        )

    async def run(self) -> Outcome:
        """The whole loop without its events."""
        async for _ in self.events():
            pass
        assert self.outcome is not None
        return self.outcome

    async def _drive(self) -> None:
        try:
            if self.n is not None:
                await asyncio.gather(*(self._candidate(i, self.n > 1) for i in range(self.n)))
                return
            await self._candidate(0, False)
            extra = int((self.decision or {}).get("candidates", 1)) - 1
            if extra > 0:
                await asyncio.gather(*(self._candidate(i, True) for i in range(1, extra + 1)))
        finally:
            await self._queue.put(None)

    async def _candidate(self, index: int, sampled: bool) -> None:
        candidate = Candidate(index)
        self.candidates.append(candidate)
        messages = first_messages(self.task)
        options: dict[str, Any] = {"max_tokens": self.max_tokens}
        if sampled:
            options.update(temperature=SAMPLING_TEMPERATURE, top_p=0.95, seed=index)
        for round_ in range(self.rounds + 1):
            reply, core, tokens = "", None, 0
            async for chunk in self.model.astream(messages, **options):
                if chunk.text:
                    reply += chunk.text
                    await self._queue.put(LoopEvent("text", index, round_, text=chunk.text))
                meta = chunk.response_metadata
                if meta.get("decision"):
                    self.decision = self.decision or meta["decision"]
                    core = meta.get("core")
                if chunk.usage_metadata:
                    tokens = chunk.usage_metadata["output_tokens"]
            code = extract_code(reply, self.task.language)
            async with self.slots:
                result = await asyncio.to_thread(self.check, code)
            candidate.attempts.append(Attempt(round_, reply, code, result, core, tokens))
            await self._queue.put(LoopEvent("result", index, round_, text=code, result=result))
            if result.passed or round_ == self.rounds:
                return
            repair = REPAIR.format(log=result.log(), tag=FENCE_TAGS[self.task.language])
            messages = [*messages, AIMessage(content=reply), HumanMessage(content=repair)]
