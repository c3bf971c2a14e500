"""How long a routing decision takes: stage 1 and stage 2 over the held-out prompts."""

from __future__ import annotations

import statistics
import time
from typing import Any

from twincore.model_core.backends.base import CoreRequest
from twincore.platform.router.load import CoreState
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.training import is_held_out, load_prompts
from twincore.platform.router.types import RouteRequest

GOAL_MS_P50 = 2.0


def measure_decisions(policy: TwoStagePolicy, *, repeats: int = 3) -> dict[str, Any]:
    """p50/p95 milliseconds of `policy.choose` for `auto` requests, on this CPU, one thread."""
    texts = [p.text for p in load_prompts() if is_held_out(p)]
    requests = [
        RouteRequest(CoreRequest(messages=[{"role": "user", "content": text}])) for text in texts
    ]
    cores = {"deep": CoreState(), "swift": CoreState()}
    for request in requests[:20]:  # warm caches and numpy's first calls
        policy.choose(request, cores)
    samples: list[float] = []
    for _ in range(repeats):
        for request in requests:
            started = time.perf_counter()
            policy.choose(request, cores)
            samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    return {
        "decision_ms_p50": round(statistics.median(samples), 3),
        "decision_ms_p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "decisions_measured": len(samples),
        "goal_decision_ms_p50": GOAL_MS_P50,
        "classifier": policy.classifier.version,
    }
