"""The router: picks a core with its policy, falls back to the other core when one fails.

A core that fails is tried last for `cooldown_s` seconds, so a dead core costs one failed attempt,
not one per request; after the cooldown it gets traffic again and proves itself. A core still
loading its model or at its queue limit is passed over at once (platform/router/availability.py);
when no core can serve, the answer is a 503 with Retry-After that names each core's condition.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import replace
from typing import Any, Protocol

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.types import Chunk
from twincore.platform.router.availability import Availability, retry_after
from twincore.platform.router.cascade import Collected, collect_events, confidence
from twincore.platform.router.load import CoreLoad, CoreState, RequestTimer
from twincore.platform.router.policy import ExplicitOrDefaultPolicy, RoutingPolicy
from twincore.platform.router.types import (
    AUTO,
    CoreEvent,
    CoreFailure,
    Decision,
    RouteError,
    RouteEvent,
    RouteRequest,
)

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0
HEALTH_CACHE_S = 1.0
"""How old a core replica's health may be in /readyz (see `Router.health_cache_s`): measured
with 20 users on 2 CPUs, a fresh check per call took /readyz's p95 to 3.5 s."""


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
        min_mean_logprob: float = -1.0,
        queue_limits: Mapping[str, int] | None = None,
        health_cache_s: float | None = None,
    ) -> None:
        if not cores:
            raise ValueError("the router needs at least one core")
        self.cores = dict(cores)
        self.policy = policy or ExplicitOrDefaultPolicy()
        self.cooldown_s = cooldown_s
        self._failed_at: dict[str, float] = {}
        self._last_failure: dict[str, CoreFailure] = {}
        self.load = {name: CoreLoad() for name in self.cores}
        self.min_mean_logprob = min_mean_logprob
        """Cascade: swift answers below this mean token log-probability escalate to deep."""
        self.availability = Availability(self.cores, self.load, queue_limits)
        """Which cores are loaded and below their queue limit (`queue_limits`: requests in
        flight per core; none: no limit)."""
        if health_cache_s is None:  # cores in other processes answer slowly when busy
            remote = any(getattr(core, "out_of_process", False) for core in self.cores.values())
            health_cache_s = HEALTH_CACHE_S if remote else 0.0
        self.health_cache_s = health_cache_s
        """Above 0: `health` answers each core's last check while it is younger than this,
        and refreshes it in the background once older, so a burst of /readyz calls costs one
        check per core, not one each, and none waits on a core busy decoding."""
        self._health: dict[str, tuple[float, dict[str, Any]]] = {}
        self._health_checks: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._answered_health = self.availability.answered
        """Cores whose health check answered since they last broke: one that never did is
        still loading."""

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
        first_choice = _within_client_cap(self.policy.choose(request, self.core_states()), request)
        request = _with_budget(request, first_choice)
        if first_choice.mode == "cascade" and request.model == AUTO and _cascades(self.cores):
            async for event in self._cascade(request, first_choice):
                yield event
            return
        async for event in self._serve(request, first_choice):
            yield event

    def core_states(self) -> dict[str, CoreState]:
        """What the policy needs of each core now: live, queue depth, measured latency."""
        now = time.monotonic()
        return {
            name: CoreState(
                live=now - self._failed_at.get(name, -1e9) >= self.cooldown_s,
                waiting=max(load.inflight - 1, 0),
                ttft_ms=load.ttft_ms,
                ms_per_token=load.ms_per_token,
            )
            for name, load in self.load.items()
        }

    async def _serve(
        self, request: RouteRequest, first_choice: Decision
    ) -> AsyncGenerator[RouteEvent, None]:
        decision = first_choice
        failures: list[CoreFailure] = []
        for name in self._attempt_order(first_choice.core):
            refused = await self.availability.refusal(name)
            if refused is not None:
                failures.append(refused)
                continue
            decision = first_choice
            if name != first_choice.core:
                decision = self._fallback(first_choice, name, failures)
            events = self.cores[name].generate(request.core_request)
            timer = RequestTimer(self.load[name])
            try:
                first = await self._first_event(name, events)
                if isinstance(first, CoreFailure):
                    if first.client:
                        yield RouteError(400, first.message, "invalid_request_error", decision)
                        return
                    if first.condition == "failed":  # busy or loading: no cool-down
                        self._mark_failed(first)
                    failures.append(first)
                    continue
                self._failed_at.pop(name, None)
                yield decision
                timer.on_chunk(_tokens(first))
                yield first
                async with aclosing(self._rest(name, request.core_request, events)) as rest:
                    async for event in rest:
                        timer.on_chunk(_tokens(event))
                        yield event
                return
            finally:
                timer.finish()
                await events.aclose()
        yield self._no_core(failures, decision)

    def _fallback(self, chosen: Decision, name: str, failures: list[CoreFailure]) -> Decision:
        """The decision for core `name` taking over from the chosen core, which failed, is
        loading or busy just now, or failed recently and is cooling."""
        mine = [f for f in failures if f.core == chosen.core]
        failed = mine[-1] if mine else self._last_failure.get(chosen.core) or failures[-1]
        condition = "failed" if failed.condition == "failed" else f"is {failed.condition}"
        return replace(
            chosen,
            core=name,
            reason=f"fallback: {failed.core} {condition}; answered by {name}; {chosen.reason}",
            fallback_from=chosen.core,
            fallback_error=failed.message,
        )

    def _no_core(self, failures: list[CoreFailure], decision: Decision) -> RouteError:
        """503 naming each core and its condition, with when to retry."""
        summary = "; ".join(f"{f.core} {f.condition}: {f.message}" for f in failures)
        now = time.monotonic()
        cooling = [self.cooldown_s - (now - at) for at in self._failed_at.values()]
        wait = retry_after(failures, min(cooling, default=0.0))
        message = f"no core could serve the request ({summary})"
        return RouteError(503, message, decision=decision, retry_after_s=wait)

    async def _rest(
        self, name: str, request: CoreRequest, events: AsyncIterator[CoreEvent]
    ) -> AsyncGenerator[Chunk, None]:
        """The chunks after the first; a stream that breaks (the replica died) ends with an
        error chunk instead of an exception, and the core is cooled and probed again."""
        try:
            async for event in events:
                if isinstance(event, CoreFailure):  # cores send failures first or never
                    event = _error_chunk(request, event.message)
                yield event
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            self._mark_failed(CoreFailure(name, message))
            self.availability.forget(name)
            yield _error_chunk(request, f"core {name} broke mid-stream: {message}")

    async def _cascade(
        self, request: RouteRequest, planned: Decision
    ) -> AsyncGenerator[RouteEvent, None]:
        """Swift answers first (buffered); deep answers instead when swift is not confident."""
        params = request.core_request.params
        swift_request = replace(
            request,
            core_request=replace(request.core_request, params=replace(params, logprobs=True)),
        )
        first = replace(planned, core="swift", reason=f"cascade: swift first; {planned.reason}")
        collected: Collected = await collect_events(self._serve(swift_request, first))
        answered = collected.decision
        if collected.error is not None or answered is None or answered.core != "swift":
            for event in collected.events:  # swift failed or was down: that answer stands
                yield event
            return
        mean = confidence(collected.chunks)
        scores = {**planned.scores, "cascade.mean_logprob": round(mean, 4)}
        scores["cascade.swift_tokens"] = float(collected.completion_tokens)
        deep_refused = None
        if mean < self.min_mean_logprob:
            deep_refused = await self.availability.refusal("deep")
        if mean >= self.min_mean_logprob or deep_refused is not None:
            why = (
                f"swift confident (mean logprob {mean:.2f} >= {self.min_mean_logprob:.2f})"
                if deep_refused is None
                else f"swift kept (mean logprob {mean:.2f}): deep {deep_refused.condition}"
            )
            yield replace(answered, reason=f"cascade: {why}; {planned.reason}", scores=scores)
            for chunk in collected.chunks:
                yield chunk
            return
        deep = replace(
            planned,
            core="deep",
            reason=f"cascade: escalated, swift mean logprob {mean:.2f} < "
            f"{self.min_mean_logprob:.2f}; {planned.reason}",
            scores=scores,
        )
        async for event in self._serve(request, deep):
            yield event

    async def _first_event(self, name: str, events: AsyncIterator[CoreEvent]) -> CoreEvent:
        try:
            return await anext(events)
        except StopAsyncIteration:
            return CoreFailure(name, "the core ended the request without any output")
        except Exception as error:  # a dead replica, a broken connection: the core failed
            self.availability.forget(name)  # Serve restarts a dead replica: probe it again
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
        """Each core's health with its `state`: `ready`; `loading` while it has never answered
        (a replica still loading its model queues the check); `failed` with the `reason`.
        `ok` when at least one core is ready."""
        names = list(self.cores)
        results = await asyncio.gather(
            *(self._recent_health(name) for name in names), return_exceptions=False
        )
        cores = dict(zip(names, results, strict=True))
        states = self.core_states()
        router = {
            name: {
                "inflight": self.load[name].inflight,
                "ttft_ms": _rounded(states[name].ttft_ms),
                "ms_per_token": _rounded(states[name].ms_per_token),
                "cooling": not states[name].live,
            }
            for name in names
        }
        ok = any(h.get("ok") for h in cores.values())
        return {"ok": ok, "cores": cores, "router": {"cores": router}}

    async def _recent_health(self, name: str) -> dict[str, Any]:
        """The core's health: checked now, or (with `health_cache_s`) its last check while
        fresh enough, a newer one starting in the background once it is not."""
        if self.health_cache_s <= 0:
            return await self._core_health(name)
        check = self._health_checks.get(name)
        if check is None or check.done():
            last = self._health.get(name)
            if last is not None and time.monotonic() - last[0] < self.health_cache_s:
                return dict(last[1])
            check = self._health_checks[name] = asyncio.ensure_future(self._check(name))
        last = self._health.get(name)
        if last is not None:  # stale but known: answer it while the new check runs
            return dict(last[1])
        return dict(await asyncio.shield(check))

    async def _check(self, name: str) -> dict[str, Any]:
        health = await self._core_health(name)
        self._health[name] = (time.monotonic(), health)
        return health

    async def _core_health(self, name: str) -> dict[str, Any]:
        try:
            health = await asyncio.wait_for(self.cores[name].health(), HEALTH_TIMEOUT_S)
        except TimeoutError:
            if name in self._answered_health:
                reason = f"its health check did not answer within {HEALTH_TIMEOUT_S:g} s"
                return {"ok": False, "state": "failed", "reason": reason, "error": reason}
            reason = "still loading: it has not answered a health check yet"
            return {"ok": False, "state": "loading", "reason": reason, "error": reason}
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            return {"ok": False, "state": "failed", "reason": reason, "error": reason}
        self._answered_health.add(name)
        ok = bool(health.get("ok"))
        health.setdefault("state", "ready" if ok else "failed")
        if not ok:
            health.setdefault("reason", health.get("error") or "the core reports itself not ok")
        return health

    async def models(self) -> dict[str, dict[str, Any]]:
        """Each core's info, by core name (a core that does not answer reports its error)."""
        out: dict[str, dict[str, Any]] = {}
        for name, core in self.cores.items():
            try:
                out[name] = await asyncio.wait_for(core.info(), HEALTH_TIMEOUT_S)
            except Exception as error:
                out[name] = {"core": name, "error": f"{type(error).__name__}: {error}"}
        return out


def _within_client_cap(decision: Decision, request: RouteRequest) -> Decision:
    """The decision with its token budget at most the client's explicit `max_tokens`: a client
    that set one (API body, playground slider) asked for a cap, which no policy may raise."""
    cap = request.core_request.params.max_tokens
    if "max_tokens" not in request.client_set or decision.max_tokens <= cap:
        return decision
    return replace(decision, max_tokens=cap, reason=f"{decision.reason}; client cap {cap} tokens")


def _with_budget(request: RouteRequest, decision: Decision) -> RouteRequest:
    """The request with the decision's compute budget applied to its sampling parameters."""
    params = request.core_request.params
    budget = replace(params, max_tokens=decision.max_tokens, n=decision.candidates)
    if decision.temperature is not None:
        budget = replace(budget, temperature=decision.temperature)
    if budget == params:
        return request
    return replace(request, core_request=replace(request.core_request, params=budget))


def _cascades(cores: Mapping[str, CoreClient]) -> bool:
    return "swift" in cores and "deep" in cores


def _tokens(event: CoreEvent) -> int:
    if not isinstance(event, Chunk):
        return 0
    return len(event.token_ids) or (1 if event.text else 0)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _error_chunk(request: CoreRequest, message: str) -> Chunk:
    return Chunk(request.request_id, 0, (), "", finish_reason="error", error=message)
