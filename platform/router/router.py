"""The router: picks a core with its policy, falls back to the other core when one fails.

A core that fails is tried last for `cooldown_s` seconds, so a dead core costs one failed attempt,
not one per request; after the cooldown it gets traffic again and proves itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import replace
from typing import Any, Protocol

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.types import Chunk
from twincore.platform.router.policy import ExplicitOrDefaultPolicy, RoutingPolicy
from twincore.platform.router.types import (
    AUTO,
    CoreEvent,
    CoreFailure,
    RouteError,
    RouteEvent,
    RouteRequest,
)

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0


class CoreClient(Protocol):
    """The router's view of one core: in-process (`CoreServer`) or a Ray Serve handle."""

    name: str

    def generate(self, request: CoreRequest) -> AsyncGenerator[CoreEvent, None]: ...
    async def health(self) -> dict[str, Any]: ...
    async def info(self) -> dict[str, Any]: ...


class RouterClient(Protocol):
    """What callers of the router (gateway, services, chat model) need from it."""

    def stream(self, request: RouteRequest) -> AsyncGenerator[RouteEvent, None]: ...
    async def health(self) -> dict[str, Any]: ...
    async def models(self) -> dict[str, dict[str, Any]]: ...


class UnknownModelError(ValueError):
    """The request named a model that is neither `auto` nor a core."""


class Router:
    """Routes requests over a fixed set of cores."""

    def __init__(
        self,
        cores: Mapping[str, CoreClient],
        policy: RoutingPolicy | None = None,
        *,
        cooldown_s: float = 10.0,
    ) -> None:
        if not cores:
            raise ValueError("the router needs at least one core")
        self.cores = dict(cores)
        self.policy = policy or ExplicitOrDefaultPolicy()
        self.cooldown_s = cooldown_s
        self._failed_at: dict[str, float] = {}
        self._last_failure: dict[str, CoreFailure] = {}

    def model_names(self) -> list[str]:
        return [AUTO, *self.cores]

    async def stream(self, request: RouteRequest) -> AsyncGenerator[RouteEvent, None]:
        """A Decision then the chosen core's chunks; or a RouteError alone."""
        if request.model != AUTO and request.model not in self.cores:
            yield RouteError(
                404,
                f"unknown model {request.model!r}; available: {', '.join(self.model_names())}",
                "invalid_request_error",
            )
            return
        first_choice = self.policy.choose(request)
        decision = first_choice
        failures: list[CoreFailure] = []
        for name in self._attempt_order(first_choice.core):
            if name != first_choice.core:
                # Either the chosen core failed just now, or it failed recently and is cooling.
                failed = failures[-1] if failures else self._last_failure[first_choice.core]
                decision = replace(
                    first_choice,
                    core=name,
                    reason=f"fallback: {failed.core} failed; {first_choice.reason}",
                    fallback_from=first_choice.core,
                    fallback_error=failed.message,
                )
            elif failures:  # back to the chosen core after the others failed first
                decision = first_choice
            events = self.cores[name].generate(request.core_request)
            try:
                first = await self._first_event(name, events)
                if isinstance(first, CoreFailure):
                    if first.client:
                        yield RouteError(400, first.message, "invalid_request_error", decision)
                        return
                    self._mark_failed(first)
                    failures.append(first)
                    continue
                self._failed_at.pop(name, None)
                yield decision
                yield first
                async for event in events:
                    if isinstance(event, CoreFailure):  # cores send failures first or never
                        event = _error_chunk(request.core_request, event.message)
                    yield event
                return
            finally:
                await events.aclose()
        summary = "; ".join(f"{f.core}: {f.message}" for f in failures)
        yield RouteError(503, f"no core could serve the request ({summary})", decision=decision)

    async def _first_event(self, name: str, events: AsyncIterator[CoreEvent]) -> CoreEvent:
        try:
            return await anext(events)
        except StopAsyncIteration:
            return CoreFailure(name, "the core ended the request without any output")
        except Exception as error:  # a dead replica, a broken connection: the core failed
            return CoreFailure(name, f"{type(error).__name__}: {error}")

    def _attempt_order(self, chosen: str) -> list[str]:
        """The chosen core first, unless it failed recently; recently failed cores last."""
        now = time.monotonic()
        cooling = {n for n, at in self._failed_at.items() if now - at < self.cooldown_s}
        return sorted(self.cores, key=lambda n: (n in cooling, n != chosen))

    def _mark_failed(self, failure: CoreFailure) -> None:
        logger.warning("core %s failed: %s", failure.core, failure.message)
        self._failed_at[failure.core] = time.monotonic()
        self._last_failure[failure.core] = failure

    async def health(self) -> dict[str, Any]:
        """Each core's health (a core that does not answer in time counts as down)."""
        names = list(self.cores)
        results = await asyncio.gather(
            *(self._core_health(name) for name in names), return_exceptions=False
        )
        cores = dict(zip(names, results, strict=True))
        return {"ok": any(h.get("ok") for h in cores.values()), "cores": cores}

    async def _core_health(self, name: str) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self.cores[name].health(), HEALTH_TIMEOUT_S)
        except Exception as error:
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}

    async def models(self) -> dict[str, dict[str, Any]]:
        """Each core's info, by core name (a core that does not answer reports its error)."""
        out: dict[str, dict[str, Any]] = {}
        for name, core in self.cores.items():
            try:
                out[name] = await asyncio.wait_for(core.info(), HEALTH_TIMEOUT_S)
            except Exception as error:
                out[name] = {"core": name, "error": f"{type(error).__name__}: {error}"}
        return out


def _error_chunk(request: CoreRequest, message: str) -> Chunk:
    return Chunk(request.request_id, 0, (), "", finish_reason="error", error=message)
