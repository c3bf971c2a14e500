"""Whether a core can take a request now: loaded (it answered a health check) and not full.

A core replica that is still loading its model queues every call, a health check included, so
a core that never answered one is `loading`: the router answers from the other core (or 503
with Retry-After) instead of letting the request wait in silence for the load to finish. A
core whose replica died (its stream broke) is probed again, since Serve restarts it. A core
with as many requests in flight as its queue limit is `busy`: more would only wait in Ray
Serve's unbounded handle queue until the client gave up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from twincore.platform.router.load import CoreLoad
from twincore.platform.router.types import CoreCondition, CoreFailure

logger = logging.getLogger(__name__)

PROBE_GRACE_S = 1.0
"""How long a request waits for an unproven core's first health answer: a loaded core answers
in milliseconds, a loading one only when its model is up."""
PROBE_TIMEOUT_S = 600.0
"""A probe that has waited this long gives up; the next request starts another."""
RETRY_AFTER_S: dict[CoreCondition, float] = {"loading": 5.0, "busy": 1.0}
"""What a client is told to wait when no core can serve for this reason."""


class HealthClient(Protocol):
    async def health(self) -> dict[str, Any]: ...


class Availability:
    """Tracks which cores answered a health check and refuses a request a core cannot take."""

    def __init__(
        self,
        cores: Mapping[str, HealthClient],
        load: Mapping[str, CoreLoad],
        queue_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.cores, self.load = cores, load
        self.queue_limits = dict(queue_limits or {})
        self.answered: set[str] = set()
        """Cores whose health check answered since they last broke: they are loaded."""
        self._probes: dict[str, asyncio.Task[None]] = {}

    async def refusal(self, name: str) -> CoreFailure | None:
        """Why `name` cannot take a request now (loading, busy), or None when it can."""
        if await self.loading(name):
            message = f"{name} is loading: its replica has not answered a health check yet"
            return CoreFailure(name, message, condition="loading")
        limit = self.queue_limits.get(name)
        inflight = self.load[name].inflight
        if limit is not None and inflight >= limit:
            message = f"{name} is busy: {inflight} requests in flight, its queue limit is {limit}"
            return CoreFailure(name, message, condition="busy")
        return None

    async def loading(self, name: str) -> bool:
        """Whether `name` has not answered a health check within the grace (one check at a
        time runs per core; requests meanwhile do not wait for it)."""
        if name in self.answered:
            return False
        probe = self._probes.get(name)
        if probe is None or probe.get_loop() is not asyncio.get_running_loop():
            probe = self._probes[name] = asyncio.ensure_future(self._probe(name))
        done, _ = await asyncio.wait({probe}, timeout=PROBE_GRACE_S)
        if not done:
            return True
        self._probes.pop(name, None)
        # Answered, or failed at once (a dead remote, a crashed replica): not loading either
        # way; the request itself finds out what is wrong and falls back with that error.
        return False

    async def _probe(self, name: str) -> None:
        try:
            await asyncio.wait_for(self.cores[name].health(), PROBE_TIMEOUT_S)
        except Exception as error:
            logger.info("core %s health check failed: %s: %s", name, type(error).__name__, error)
            return
        if name not in self.answered:
            logger.info("core %s answers its health check: ready", name)
        self.answered.add(name)

    def forget(self, name: str) -> None:
        """The core's connection broke (a replica died): prove it loaded again before use."""
        self.answered.discard(name)


def retry_after(failures: list[CoreFailure], cooldown_left_s: float) -> float:
    """The soonest a core may serve again: a loading or busy one, or the end of a cool-down."""
    waits = [RETRY_AFTER_S[f.condition] for f in failures if f.condition in RETRY_AFTER_S]
    return min(waits) if waits else max(cooldown_left_s, 1.0)
