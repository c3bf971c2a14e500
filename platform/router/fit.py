"""`twincore router fit`: the routing policy's numbers fitted on recorded answers' calibration half.

What is fitted, from the calibration items only (`evals/workloads.split_of`):
- `score.weights["domain.<service>"]`: deep's measured quality gain over swift on that service
  (single attempt, ground truth), so the deep score ranks requests by what deep adds;
- `score.weights["difficulty.high"]`: how much more deep gains on items the classifier calls
  hard than on the rest;
- `deep_threshold`: among the sweep, the cheapest threshold whose router+escalation quality
  reaches `target` of always-deep's; if none does, the best quality, then the cheapest.
The fitted policy keeps the input's rules (a rule naming a core still decides before the
score), prices, budgets, load and escalation settings; the price surcharge is folded into the
fitted threshold (`cost_weight: 0`). It records its provenance: when, on which answers, how
many items per service, and the calibration numbers it reached.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from twincore.platform.evals.answers import Answer
from twincore.platform.evals.router_eval import SWEEP, item_request, strategies, with_threshold
from twincore.platform.evals.workloads import WorkItem, split_of
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.rules import PolicyConfig, Score

TARGET = 0.95
"""Share of always-deep's quality the fitted threshold must keep on calibration."""
HARD = 0.5
SHRINK = 1.0
"""Standard errors taken off each measured gain before it becomes a weight (see `lower_bound`)."""
"""An item counts as hard when the classifier gives `difficulty: high` at least this."""


def calibration(items: Sequence[WorkItem]) -> list[WorkItem]:
    return [item for item in items if split_of(item.id) == "calibration"]


def fit_policy(
    policy: TwoStagePolicy,
    items: Sequence[WorkItem],
    answers: Mapping[str, Mapping[str, Answer]],
    *,
    source: str,
    target: float = TARGET,
) -> PolicyConfig:
    """A new policy config fitted on the calibration half of `items`."""
    fitted_on = calibration(items)
    if not fitted_on:
        raise ValueError("no calibration items: evaluate more items before fitting")
    weights = _service_weights(fitted_on, answers)
    weights["difficulty.high"] = _difficulty_weight(policy, fitted_on, answers)
    config = policy.config.model_copy(
        update={
            "score": Score(bias=0.0, weights=weights),
            "cost_weight": 0.0,
        }
    )
    threshold, reached = _threshold(TwoStagePolicy(config, policy.classifier), fitted_on,
                                    answers, target)  # fmt: skip
    provenance: dict[str, object] = {
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "answers": source,
        "digest": _digest(fitted_on),
        "calibration_items": {s: sum(i.service == s for i in fitted_on) for s in weights_of(items)},
        "target_quality_vs_deep": target,
        "calibration": reached,
        "classifier": policy.classifier.version,
    }
    return config.model_copy(update={"deep_threshold": threshold, "provenance": provenance})


def weights_of(items: Sequence[WorkItem]) -> list[str]:
    return sorted({item.service for item in items})


def domain_of(item: WorkItem) -> str:
    """The classifier's domain label of a service's items (codegen's is `code`, tutor's `math`)."""
    return item.hints.get("domain", item.service)


def _service_weights(
    items: Sequence[WorkItem], answers: Mapping[str, Mapping[str, Answer]]
) -> dict[str, float]:
    weights: dict[str, float] = {}
    for domain in sorted({domain_of(i) for i in items}):
        ids = [i.id for i in items if domain_of(i) == domain]
        gains = [answers["deep"][i].passed - answers["swift"][i].passed for i in ids]
        weights[f"domain.{domain}"] = round(min(max(lower_bound(gains), 0.0), 1.0), 4)
    return weights


def lower_bound(gains: Sequence[float]) -> float:
    """Mean paired gain less `SHRINK` standard errors: a service with a handful of calibration
    items and a gain within noise of zero routes to swift, not to whichever core won by one."""
    n = len(gains)
    mean = sum(gains) / n
    if n < 2:
        return 0.0
    variance = sum((g - mean) ** 2 for g in gains) / (n - 1)
    return float(mean - SHRINK * math.sqrt(variance / n))


def _difficulty_weight(
    policy: TwoStagePolicy,
    items: Sequence[WorkItem],
    answers: Mapping[str, Mapping[str, Answer]],
) -> float:
    hard: list[int] = []
    easy: list[int] = []
    for item in items:
        gain = answers["deep"][item.id].passed - answers["swift"][item.id].passed
        labels = policy.labels(item_request(item))  # the service fixes the domain label
        (hard if labels.p("difficulty", "high") >= HARD else easy).append(gain)
    if not hard or not easy:
        return 0.0
    difference = sum(hard) / len(hard) - sum(easy) / len(easy)
    return round(min(max(difference, 0.0), 0.5), 4)


def _threshold(
    policy: TwoStagePolicy,
    items: Sequence[WorkItem],
    answers: Mapping[str, Mapping[str, Answer]],
    target: float,
) -> tuple[float, dict[str, float]]:
    points = []
    for threshold in SWEEP:
        named = strategies(with_threshold(policy, threshold), items, answers)
        platform, deep = named["router+escalation"], named["always-deep"]
        points.append((threshold, platform.quality, platform.cost, deep.quality, deep.cost))
    reaching = [p for p in points if p[1] >= target * p[3] - 1e-9]
    pool = reaching or [max(points, key=lambda p: p[1])]
    best = min(pool, key=lambda p: (p[2], -p[0]))
    threshold, quality, cost, deep_quality, deep_cost = best
    return threshold, {
        "quality": round(quality, 4),
        "cost": round(cost, 4),
        "quality_vs_deep": round(quality / deep_quality, 4) if deep_quality else 0.0,
        "cost_vs_deep": round(cost / deep_cost, 4) if deep_cost else 0.0,
    }


def _digest(items: Sequence[WorkItem]) -> str:
    return hashlib.sha256("\n".join(sorted(i.id for i in items)).encode()).hexdigest()[:12]


def policy_yaml(config: PolicyConfig) -> str:
    """The fitted policy as a YAML file that `load_policy` reads back unchanged."""
    data: dict[str, Any] = config.model_dump(mode="json")
    header = (
        "# Twincore routing policy, fitted by `twincore router fit` on the calibration half of\n"
        "# recorded answers (see `provenance`); `twincore eval router` reports on the other half.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False)
