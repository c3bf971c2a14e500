"""Per-key token buckets: a key may burst, then sends at its sustained rate.

`TokenBuckets` is the arithmetic; a gateway holds a `RateLimiter`: `LocalRateLimiter` counts in
its own process (the in-process app), `SharedRateLimiter` (shared_limits.py) asks one named Ray
actor that every gateway replica shares, so N replicas do not grant N times the limit.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RateLimit:
    """`burst` tokens, refilled at `per_minute / 60` tokens a second."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One bucket per key; not thread-safe on its own (callers hold a lock or run on one loop)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, limit: RateLimit, now: float) -> float | None:
        """Take a token for `key`; None when allowed, else seconds until a token is available."""
        rate = limit.per_minute / 60.0
        bucket = self._buckets.setdefault(key, _Bucket(float(limit.burst), now))
        bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate


class RateLimiter(Protocol):
    limit: RateLimit

    async def acquire(self, key: str) -> float | None:
        """None when `key` may send now, else seconds until it may."""
        ...


class LocalRateLimiter:
    """Buckets in this process: right for one gateway, N times too lenient for N replicas."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._buckets = TokenBuckets()
        self._lock = threading.Lock()

    async def acquire(self, key: str) -> float | None:
        with self._lock:
            return self._buckets.take(key, self.limit, time.monotonic())


def retry_after_header(wait_s: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it succeeds."""
    return str(max(1, math.ceil(wait_s)))
