"""Rate limits shared by every gateway replica: one named Ray actor holds the buckets.

Why an actor and not the database: a bucket update is a read-modify-write on every request;
in SQLite it would take the file's one write lock that the request log and the services need,
in PostgreSQL a row lock per key. The actor keeps the buckets in memory, answers in one Ray call
(measured in deploy/README.md), and reserves no CPU. If it restarts, buckets start full again,
which only forgets a burst. If it cannot be reached, a replica falls back to counting alone
rather than refusing every request.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from twincore.platform.gateway.ratelimit import LocalRateLimiter, RateLimit, TokenBuckets

logger = logging.getLogger(__name__)

ACTOR_NAME = "twincore-rate-limits"
NAMESPACE = "twincore"


class RateLimitActor:
    """The buckets of every key; the limit comes with each call, so a redeploy that changes it
    applies at once."""

    def __init__(self) -> None:
        self._buckets = TokenBuckets()

    def take(self, key: str, per_minute: float, burst: int) -> float | None:
        # Actor methods run one at a time: no lock needed.
        return self._buckets.take(key, RateLimit(per_minute, burst), time.monotonic())


def rate_limit_actor(name: str = ACTOR_NAME) -> Any:
    """The shared actor, created by the first replica that asks (Ray names are cluster-wide)."""
    import ray

    actor_class = ray.remote(RateLimitActor)
    return actor_class.options(
        name=name,
        namespace=NAMESPACE,
        get_if_exists=True,
        lifetime="detached",  # outlives the replica that created it; Ray's shutdown ends it
        num_cpus=0,
        max_restarts=-1,
        max_concurrency=1,
    ).remote()


class SharedRateLimiter:
    """Asks the shared actor; counts locally while the actor cannot be reached."""

    def __init__(self, limit: RateLimit, *, actor_name: str = ACTOR_NAME) -> None:
        self.limit, self._actor_name = limit, actor_name
        self._actor: Any = None
        self._fallback = LocalRateLimiter(limit)

    async def acquire(self, key: str) -> float | None:
        from ray.exceptions import RayError

        try:
            if self._actor is None:
                self._actor = rate_limit_actor(self._actor_name)
            wait: float | None = await self._actor.take.remote(
                key, self.limit.per_minute, self.limit.burst
            )
            return wait
        except (RayError, ValueError) as error:
            logger.warning("shared rate limits unreachable, counting locally: %s", error)
            self._actor = None  # look it up again next time (it may have been restarted)
            return await self._fallback.acquire(key)


def in_serve_replica() -> bool:
    """Whether this code runs inside a Ray Serve replica (then replicas must share limits)."""
    if "ray.serve" not in sys.modules:  # a replica has imported Serve; don't import it here
        return False
    from ray import serve
    from ray.serve.exceptions import RayServeException

    try:
        serve.get_replica_context()
    except RayServeException:
        return False
    return True
