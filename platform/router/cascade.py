"""Cascade routing: swift answers first, deep answers instead when swift's answer falls short.

Two signals decide: swift's own confidence (the mean log-probability of its tokens, checked in
the router for `mode: cascade`) and, for services, their deterministic verifier (SymPy, tests,
graph results), checked on the service's side by `run_cascade`, since a verifier lives with its
service and cannot travel to the router replica.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from twincore.model_core.engine.types import Chunk
from twincore.platform.router.types import Decision, RouteError, RouteEvent, RouteRequest

if TYPE_CHECKING:
    from twincore.platform.router.router import RouterClient

Verifier = Callable[[str], bool | Awaitable[bool]]
"""Checks an answer's text: True when the service's deterministic engine accepts it."""


@dataclass
class Collected:
    """A whole routed answer, gathered."""

    decision: Decision | None = None
    chunks: list[Chunk] = field(default_factory=list)
    events: list[RouteEvent] = field(default_factory=list)
    error: str | None = None
    status: int | None = None

    @property
    def text(self) -> str:
        """Candidate 0's text."""
        return "".join(c.text for c in self.chunks if c.index == 0)

    @property
    def completion_tokens(self) -> int:
        usage = [c.usage for c in self.chunks if c.usage is not None]
        if usage:
            return usage[-1].completion_tokens
        return sum(len(c.token_ids) for c in self.chunks)

    @property
    def prompt_tokens(self) -> int:
        usage = [c.usage for c in self.chunks if c.usage is not None]
        return usage[-1].prompt_tokens if usage else 0


async def collect_events(events: AsyncIterator[RouteEvent]) -> Collected:
    """Gather a router stream; a RouteError or an error chunk sets `error`."""
    collected = Collected()
    async for event in events:
        collected.events.append(event)
        if isinstance(event, Decision):
            collected.decision = event
        elif isinstance(event, RouteError):
            collected.error, collected.status = event.message, event.status
            collected.decision = event.decision
        else:
            collected.chunks.append(event)
            if event.error:
                collected.error = event.error
    return collected


def confidence(chunks: Sequence[Chunk]) -> float:
    """Mean token log-probability over every candidate; -inf when none was reported."""
    logprobs = [lp for chunk in chunks for lp in (chunk.logprobs or ())]
    return sum(logprobs) / len(logprobs) if logprobs else float("-inf")


@dataclass(frozen=True)
class CascadeResult:
    """The answer a cascade settled on, and what happened on the way."""

    answer: Collected
    decision: Decision
    escalated: bool
    swift_answer: Collected
    swift_verified: bool | None


async def run_cascade(
    router: RouterClient,
    request: RouteRequest,
    verifier: Verifier,
    *,
    min_mean_logprob: float | None = None,
) -> CascadeResult:
    """Ask swift; escalate to deep when the verifier rejects swift's answer (or, with
    `min_mean_logprob`, when swift is not confident). Deep's answer stands either way."""
    params = request.core_request.params
    swift_request = replace(
        request,
        model="swift",
        core_request=replace(request.core_request, params=replace(params, logprobs=True)),
    )
    swift = await collect_events(router.stream(swift_request))
    passed: bool | None = None
    reason = "swift failed"
    if swift.error is None:
        passed = await _verify(verifier, swift.text)
        mean = confidence(swift.chunks)
        confident = min_mean_logprob is None or mean >= min_mean_logprob
        if passed and confident and swift.decision is not None:
            decision = replace(
                swift.decision,
                reason="cascade: swift's answer passed the verifier",
                scores={**swift.decision.scores, "cascade.mean_logprob": round(mean, 4)},
            )
            return CascadeResult(swift, decision, False, swift, passed)
        reason = (
            "the verifier rejected swift's answer"
            if not passed
            else (f"swift not confident (mean logprob {mean:.2f} < {min_mean_logprob:.2f})")
        )
    deep = await collect_events(router.stream(replace(request, model="deep")))
    base = deep.decision or Decision("deep", "", params.max_tokens, params.n)
    decision = replace(base, reason=f"cascade: escalated to deep, {reason}")
    return CascadeResult(deep, decision, True, swift, passed)


async def _verify(verifier: Verifier, text: str) -> bool:
    result = verifier(text)
    if inspect.isawaitable(result):
        result = await result
    return bool(result)
