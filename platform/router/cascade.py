"""Gathering a routed answer, and swift's confidence for `mode: cascade`.

In `mode: cascade` the router asks swift first and escalates to deep when the mean
log-probability of swift's tokens is low. Services escalate on their deterministic checkers
instead (router/escalation.py), on their own side, since a checker lives with its service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twincore.model_core.engine.types import Chunk
from twincore.platform.router.types import Decision, RouteError, RouteEvent

if TYPE_CHECKING:
    pass

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
