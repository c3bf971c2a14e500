"""The router with cores that are loading, full or break mid-stream: it falls back with the
reason in the decision, or answers 503 with Retry-After naming each core's condition."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk
from twincore.platform.router import availability
from twincore.platform.router import router as router_module
from twincore.platform.router.cascade import Collected, collect_events
from twincore.platform.router.router import Router
from twincore.platform.router.types import CoreEvent, CoreFailure, RouteError, RouteRequest
from twincore.platform.settings import Settings

pytestmark = pytest.mark.anyio


class FakeCore:
    """A core whose replica is `ready`, `loading` (every call waits, as Serve queues calls to a
    replica still in its constructor), `full` (the engine's queue is full), `dead` (the call
    raises) or `breaking` (one chunk, then the connection breaks)."""

    def __init__(self, name: str, mode: str = "ready") -> None:
        self.name, self.mode = name, mode
        self.loaded = asyncio.Event()
        self.generated = 0

    async def _wait_if_loading(self) -> None:
        if self.mode == "loading":
            await self.loaded.wait()

    async def generate(self, request: CoreRequest) -> AsyncGenerator[CoreEvent, None]:
        await self._wait_if_loading()
        if self.mode == "dead":
            raise ConnectionError("the replica died")
        if self.mode == "full":
            yield CoreFailure(self.name, "QueueFullError: 64 waiting", condition="busy")
            return
        self.generated += 1
        yield Chunk(request.request_id, 0, (1,), f"{self.name} says")
        if self.mode == "breaking":
            raise ConnectionError("ActorDiedError: the actor died unexpectedly")
        yield Chunk(request.request_id, 0, (2,), " hi", finish_reason="stop")

    async def health(self) -> dict[str, Any]:
        await self._wait_if_loading()
        if self.mode == "dead":
            raise ConnectionError("the replica died")
        return {"ok": True, "running": 0, "waiting": 0}

    async def info(self) -> dict[str, Any]:
        return {}


@pytest.fixture(autouse=True)
def quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(availability, "PROBE_GRACE_S", 0.05)
    monkeypatch.setattr(router_module, "HEALTH_TIMEOUT_S", 0.05)


def ask(model: str = "deep") -> RouteRequest:
    core = CoreRequest(messages=[{"role": "user", "content": "hi"}], params=SamplingParams())
    return RouteRequest(core, model)


async def route(router: Router, model: str = "deep") -> Collected:
    return await collect_events(router.stream(ask(model)))


def only_error(collected: Collected) -> RouteError:
    assert len(collected.events) == 1 and isinstance(collected.events[0], RouteError), collected
    return collected.events[0]


async def test_a_loading_core_is_passed_over_until_it_answers_its_health_check() -> None:
    deep, swift = FakeCore("deep", "loading"), FakeCore("swift")
    router = Router({"deep": deep, "swift": swift})
    answer = await route(router)
    assert answer.decision is not None and answer.decision.core == "swift"
    assert answer.decision.fallback_from == "deep"
    assert answer.decision.reason.startswith("fallback: deep is loading; answered by swift")
    assert "deep is loading" in (answer.decision.fallback_error or "")
    assert answer.text == "swift says hi" and deep.generated == 0
    readiness = await router.health()
    assert readiness["cores"]["deep"]["state"] == "loading"
    deep.mode = "ready"
    deep.loaded.set()  # the model is up: the pending check answers
    answer = await route(router)
    assert answer.decision is not None and answer.decision.core == "deep"
    assert answer.decision.fallback_from is None and answer.text == "deep says hi"


async def test_no_core_loaded_answers_503_with_retry_after_naming_each_core() -> None:
    router = Router({"deep": FakeCore("deep", "loading"), "swift": FakeCore("swift", "loading")})
    error = only_error(await route(router, "swift"))
    assert error.status == 503
    assert error.retry_after_s == availability.RETRY_AFTER_S["loading"]
    assert "deep loading: deep is loading" in error.message
    assert "swift loading: swift is loading" in error.message


async def test_a_full_core_falls_back_without_cooling_and_both_full_is_503() -> None:
    deep, swift = FakeCore("deep", "full"), FakeCore("swift")
    router = Router({"deep": deep, "swift": swift})
    answer = await route(router)
    assert answer.decision is not None and answer.decision.core == "swift"
    assert answer.decision.reason.startswith("fallback: deep is busy; answered by swift")
    assert router.core_states()["deep"].live  # busy is not broken: no cool-down
    swift.mode = "full"
    error = only_error(await route(router))
    assert error.status == 503 and error.retry_after_s == availability.RETRY_AFTER_S["busy"]
    assert "deep busy" in error.message and "swift busy" in error.message


async def test_the_queue_limit_refuses_requests_beyond_it_while_others_run() -> None:
    deep, swift = FakeCore("deep", "loading"), FakeCore("swift", "loading")
    router = Router({"deep": deep, "swift": swift}, queue_limits={"deep": 1, "swift": 1})
    router.availability.answered.update({"deep", "swift"})  # loaded, yet every request waits
    held = [asyncio.ensure_future(route(router, name)) for name in ("deep", "swift")]
    await asyncio.sleep(0.01)
    assert [router.load[n].inflight for n in ("deep", "swift")] == [1, 1]
    error = only_error(await route(router))
    assert error.status == 503 and error.retry_after_s == availability.RETRY_AFTER_S["busy"]
    assert "deep is busy: 1 requests in flight, its queue limit is 1" in error.message
    for core in (deep, swift):
        core.loaded.set()
    answers = await asyncio.gather(*held)
    assert [answer.text for answer in answers] == ["deep says hi", "swift says hi"]
    assert (await route(router)).text == "deep says hi"  # room again


async def test_a_stream_that_breaks_ends_with_an_error_and_the_next_request_falls_back() -> None:
    deep, swift = FakeCore("deep"), FakeCore("swift", "breaking")
    router = Router({"deep": deep, "swift": swift})
    broken = await route(router, "swift")
    assert broken.decision is not None and broken.decision.core == "swift"
    assert broken.text == "swift says" and "swift broke mid-stream" in (broken.error or "")
    swift.mode = "loading"  # Serve restarts the replica: it loads again
    answer = await route(router, "swift")
    assert answer.decision is not None and answer.decision.core == "deep"
    assert answer.decision.reason.startswith("fallback: swift failed; answered by deep")
    assert "ActorDiedError" in (answer.decision.fallback_error or "")
    assert (await router.health())["cores"]["swift"]["state"] == "loading"


async def test_a_dead_replica_is_probed_again_before_use() -> None:
    deep, swift = FakeCore("deep"), FakeCore("swift", "dead")
    router = Router({"deep": deep, "swift": swift}, cooldown_s=0.0)
    first = await route(router, "swift")
    assert first.decision is not None and first.decision.core == "deep"
    assert "the replica died" in (first.decision.fallback_error or "")
    assert "swift" not in router.availability.answered
    swift.mode = "loading"
    again = await route(router, "swift")
    assert again.decision is not None and again.decision.reason.startswith(
        "fallback: swift is loading; answered by deep"
    )


def test_queue_limits_follow_the_engines_of_each_cores_replicas() -> None:
    from twincore.platform.router.setup import queue_limits

    settings = Settings(
        cores={
            "deep": {"max_running": 2, "max_waiting": 3, "replicas": 2},
            "swift": {"max_running": 4, "max_waiting": 0, "autoscaling": {"max_replicas": 3}},
        }
    )
    assert queue_limits(settings) == {"deep": 10, "swift": 12}


async def test_health_of_out_of_process_cores_is_cached_and_refreshed_behind() -> None:
    deep, swift = FakeCore("deep"), FakeCore("swift")
    deep.out_of_process = True  # type: ignore[attr-defined]
    router = Router({"deep": deep, "swift": swift})
    assert router.health_cache_s == router_module.HEALTH_CACHE_S
    assert Router({"deep": FakeCore("deep")}).health_cache_s == 0  # in-process: always fresh
    router.health_cache_s = 0.05
    assert (await router.health())["cores"]["deep"]["state"] == "ready"
    deep.mode = "dead"
    assert (await router.health())["cores"]["deep"]["state"] == "ready"  # still fresh
    await asyncio.sleep(0.06)
    assert (await router.health())["cores"]["deep"]["state"] == "ready"  # stale: rechecking
    await asyncio.sleep(0.01)
    failed = (await router.health())["cores"]["deep"]
    assert failed["state"] == "failed" and "the replica died" in failed["reason"]
