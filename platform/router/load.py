"""Live load of each core as the router sees it: requests in flight and measured latency.

Latency is an exponentially weighted mean of time to first token and of milliseconds per output
token over recent requests, measured at the router, so it includes queueing in the core.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

EWMA_WEIGHT = 0.2
"""Weight of the newest request: about the last ten requests count."""


@dataclass
class CoreLoad:
    inflight: int = 0
    ttft_ms: float | None = None
    ms_per_token: float | None = None

    def observe(self, ttft_ms: float, decode_ms: float, tokens: int) -> None:
        self.ttft_ms = _ewma(self.ttft_ms, ttft_ms)
        if tokens > 1:
            self.ms_per_token = _ewma(self.ms_per_token, decode_ms / (tokens - 1))


def _ewma(old: float | None, new: float) -> float:
    return new if old is None else (1 - EWMA_WEIGHT) * old + EWMA_WEIGHT * new


@dataclass(frozen=True)
class CoreState:
    """What the policy knows of one core when it decides."""

    live: bool = True
    waiting: int = 0
    """Requests in flight at the router beyond the first (a queue-depth proxy)."""
    ttft_ms: float | None = None
    ms_per_token: float | None = None


class RequestTimer:
    """Times one request on one core and feeds the core's load when it ends."""

    def __init__(self, load: CoreLoad) -> None:
        self.load = load
        self.started = time.perf_counter()
        self.first: float | None = None
        self.tokens = 0
        load.inflight += 1

    def on_chunk(self, tokens: int) -> None:
        if tokens and self.first is None:
            self.first = time.perf_counter()
        self.tokens += tokens

    def finish(self) -> None:
        self.load.inflight -= 1
        if self.first is not None:
            end = time.perf_counter()
            self.load.observe(
                (self.first - self.started) * 1000, (end - self.first) * 1000, self.tokens
            )
