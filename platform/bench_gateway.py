"""Gateway benchmark: what the HTTP proxy, gateway and router add over calling the core directly,
concurrent streams sustained for a fixed time, and how long an `auto` routing decision takes.

Each latency sample is a pair run back to back, one request straight to the core's Serve handle
and the same request through HTTP (proxy, gateway, router, core), order alternating, so drift in
the machine's speed cancels out of the difference.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from ray import serve
from ray.serve.handle import DeploymentHandle

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.platform.app import build_application
from twincore.platform.db.migrate import upgrade
from twincore.platform.launcher import ray_cluster
from twincore.platform.router.bench import measure_decisions
from twincore.platform.router.setup import build_policy
from twincore.platform.router.types import RouteRequest
from twincore.platform.settings import Settings

MESSAGES = [{"role": "user", "content": "Reply with one word: ready?"}]
APP_NAME = "twincore-bench"


@dataclass(frozen=True)
class GatewayBench:
    """How much to measure."""

    core: str = "swift"
    requests: int = 60
    """Latency pairs (direct and through the gateway)."""
    warmup: int = 5
    streams: int = 8
    """Concurrent streaming clients in the sustained phase."""
    duration_s: float = 15.0
    stream_tokens: int = 16


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _direct(core: DeploymentHandle[Any]) -> float:
    request = CoreRequest(
        messages=MESSAGES, params=SamplingParams(max_tokens=1), request_id=uuid.uuid4().hex
    )
    started = time.perf_counter()
    async for _ in core.options(stream=True).generate.remote(request):  # type: ignore[union-attr]
        pass
    return time.perf_counter() - started


async def _through_router(router: DeploymentHandle[Any], core: str) -> float:
    request = RouteRequest(
        CoreRequest(
            messages=MESSAGES, params=SamplingParams(max_tokens=1), request_id=uuid.uuid4().hex
        ),
        core,
    )
    started = time.perf_counter()
    async for _ in router.options(stream=True).stream.remote(request):  # type: ignore[union-attr]
        pass
    return time.perf_counter() - started


async def _through_gateway(client: httpx.AsyncClient, core: str) -> float:
    body = {"model": core, "messages": MESSAGES, "max_tokens": 1}
    started = time.perf_counter()
    response = await client.post("/v1/chat/completions", json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


async def _stream_client(
    client: httpx.AsyncClient, bench: GatewayBench, until: float, counts: dict[str, int]
) -> None:
    body = {
        "model": bench.core,
        "messages": MESSAGES,
        "max_tokens": bench.stream_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    while time.perf_counter() < until:
        counts["requests"] += 1
        try:
            async with client.stream("POST", "/v1/chat/completions", json=body) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if '"usage":{' in line:
                        counts["tokens"] += int(line.split('"completion_tokens":')[1].split(",")[0])
                    if line.startswith('data: {"error"'):
                        raise RuntimeError(line)
        except (httpx.HTTPError, RuntimeError):
            counts["errors"] += 1


async def _measure(
    base_url: str,
    core: DeploymentHandle[Any],
    router: DeploymentHandle[Any],
    bench: GatewayBench,
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=bench.streams + 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        for _ in range(bench.warmup):
            await _direct(core)
            await _through_gateway(client, bench.core)
        direct, routed, gateway, errors = [], [], [], 0
        for i in range(bench.requests):
            try:
                if i % 2:
                    gateway.append(await _through_gateway(client, bench.core))
                    routed.append(await _through_router(router, bench.core))
                    direct.append(await _direct(core))
                else:
                    direct.append(await _direct(core))
                    routed.append(await _through_router(router, bench.core))
                    gateway.append(await _through_gateway(client, bench.core))
            except httpx.HTTPError:
                errors += 1
        added = [(g - d) * 1000 for g, d in zip(gateway, direct, strict=True)]
        router_added = [(r - d) * 1000 for r, d in zip(routed, direct, strict=True)]
        counts = {"requests": 0, "errors": 0, "tokens": 0}
        until = time.perf_counter() + bench.duration_s
        started = time.perf_counter()
        await asyncio.gather(
            *(_stream_client(client, bench, until, counts) for _ in range(bench.streams))
        )
        elapsed = time.perf_counter() - started
    return {
        "core": bench.core,
        "requests": len(gateway) + errors + counts["requests"],
        "errors": errors + counts["errors"],
        "added_latency_ms_p50": round(statistics.median(added), 2),
        "added_latency_ms_p95": round(percentile(added, 0.95), 2),
        "router_hop_added_ms_p50": round(statistics.median(router_added), 2),
        "direct_ms_p50": round(statistics.median(direct) * 1000, 2),
        "gateway_ms_p50": round(statistics.median(gateway) * 1000, 2),
        "latency_pairs": len(added),
        "streams": bench.streams,
        "stream_requests": counts["requests"],
        "stream_errors": counts["errors"],
        "stream_duration_s": round(elapsed, 1),
        "stream_tokens_per_s": round(counts["tokens"] / elapsed, 1),
    }


def bench_gateway(settings: Settings, bench: GatewayBench, *, port: int) -> dict[str, Any]:
    """Deploy the app on a private local Ray cluster, measure, shut everything down."""
    settings = settings.model_copy(
        update={
            "auth": settings.auth.model_copy(update={"require_api_key": False}),
            # The sustained phase must measure the platform, not the per-key rate limit.
            "gateway": settings.gateway.model_copy(
                update={"port": port, "rate_limit_per_minute": 1e9, "rate_limit_burst": 10**9}
            ),
        }
    )
    upgrade(settings.database_url)
    decisions = measure_decisions(build_policy(settings))
    with ray_cluster(settings):
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_application(settings, modules=()), name=APP_NAME, route_prefix="/")
        core = serve.get_deployment_handle(bench.core, app_name=APP_NAME)
        router = serve.get_deployment_handle("router", app_name=APP_NAME)
        report = asyncio.run(_measure(f"http://127.0.0.1:{port}", core, router, bench))
    return {**report, "goal_added_latency_ms_p50": 5.0, **decisions}
