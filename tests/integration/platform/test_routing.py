"""Routing over real cores: dead cores, cascades (verifier and confidence), live load, HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.router.cascade import collect_events
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy, seed_policy
from twincore.platform.router.types import RouteRequest
from twincore.platform.settings import Settings

from .conftest import dead_core

pytestmark = pytest.mark.anyio

HARD = "Prove that the square root of 2 is irrational, step by step, as a full proof."
QUICK = "hi there, how are you?"


def policy(**overrides: object) -> TwoStagePolicy:
    config = load_policy(seed_policy()).model_copy(update=overrides)
    return TwoStagePolicy(config, TaskClassifier.load())


def ask(text: str, model: str = "auto", max_tokens: int = 8) -> RouteRequest:
    params = SamplingParams(max_tokens=max_tokens)
    core = CoreRequest(messages=[{"role": "user", "content": text}], params=params)
    return RouteRequest(core, model, client_set=frozenset({"max_tokens"}))


async def test_a_dead_core_is_never_chosen(smol_cores: dict[str, CoreServer]) -> None:
    router = Router({"deep": dead_core("deep"), "swift": smol_cores["swift"]}, policy())
    first = await collect_events(router.stream(ask(HARD)))
    assert first.decision is not None and first.error is None
    assert first.decision.core == "swift" and first.decision.fallback_from == "deep"
    for text in (HARD, QUICK, HARD):
        answer = await collect_events(router.stream(ask(text)))
        assert answer.decision is not None and answer.decision.core == "swift"
        assert answer.decision.fallback_from is None  # known dead: not even tried
    assert "deep is down" in answer.decision.reason  # the policy wanted deep for the proof
    health = await router.health()
    assert health["router"]["cores"]["deep"]["cooling"] is True


async def test_cascade_mode_escalates_on_low_confidence(
    smol_cores: dict[str, CoreServer],
) -> None:
    confident = Router(smol_cores, policy(mode="cascade"), min_mean_logprob=-1e9)
    kept = await collect_events(confident.stream(ask(HARD)))
    assert kept.decision is not None and kept.decision.core == "swift"
    assert "swift confident" in kept.decision.reason
    assert kept.decision.scores["cascade.mean_logprob"] < 0
    doubtful = Router(smol_cores, policy(mode="cascade"), min_mean_logprob=0.0)
    escalated = await collect_events(doubtful.stream(ask(QUICK)))
    assert escalated.decision is not None and escalated.decision.core == "deep"
    assert "cascade: escalated" in escalated.decision.reason
    explicit = await collect_events(doubtful.stream(ask(QUICK, model="swift")))
    assert explicit.decision is not None and explicit.decision.core == "swift"


async def test_router_measures_core_latency(smol_cores: dict[str, CoreServer]) -> None:
    router = Router(smol_cores, policy())
    await collect_events(router.stream(ask(QUICK, model="swift", max_tokens=6)))
    state = router.core_states()["swift"]
    assert state.ttft_ms is not None and state.ttft_ms > 0
    assert state.ms_per_token is not None and state.ms_per_token > 0
    assert router.load["swift"].inflight == 0


async def test_gateway_takes_the_latency_target_from_header_or_body(
    smol_cores: dict[str, CoreServer], make_settings: Callable[..., Settings]
) -> None:
    app, _ = build_embedded_app(make_settings(), smol_cores, components=())
    body = {"messages": [{"role": "user", "content": HARD}], "max_tokens": 4}
    with serve_in_background(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            by_header = await client.post(
                "/v1/chat/completions", json=body, headers={"x-twincore-latency-ms": "0.5"}
            )
            by_body = await client.post(
                "/v1/chat/completions", json={**body, "latency_target_ms": 0.5}
            )
            bad = await client.post(
                "/v1/chat/completions", json=body, headers={"x-twincore-latency-ms": "soon"}
            )
    for response in (by_header, by_body):
        assert response.status_code == 200, response.text
        decision = response.json()["twincore"]
        assert response.headers["x-twincore-core"] == "swift" == decision["core"]
        assert "best-effort" in decision["reason"]
        assert decision["labels"]["domain"] == "math"
    assert bad.status_code == 422 and "x-twincore-latency-ms" in bad.json()["error"]["message"]
