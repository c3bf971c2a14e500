"""Routing strategies compared on the same recorded answers: quality against cost.

Strategies: always swift, always deep, the router's policy (as configured and swept over deep
thresholds), random routing at the router's cost, and a cascade (swift first; deep when the
code's tests fail or swift's math answer is not confident). Metrics follow RouteLLM: PGR is the
share of deep's quality gain over swift that a strategy recovers; APGR is its mean over deep-call
shares from 0 to 1 (random routing scores 0.5); and the deep-call share a strategy needs for 50%
and 80% of the gain.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from twincore.platform.evals.answers import Answer, task_request
from twincore.platform.evals.tasks import Task
from twincore.platform.router.load import CoreState
from twincore.platform.router.policy import TwoStagePolicy

SWEEP = tuple(round(0.05 * i, 2) for i in range(21))
GRID = 100


@dataclass(frozen=True)
class Outcome:
    name: str
    quality: float
    """Share of tasks whose answer passed its verifier."""
    cost: float
    """Tokens (prompt + completion) times each core's relative price per 1000 tokens."""
    deep_share: float
    wall_s: float
    """Sum of the answering requests' latencies (escalated cascades count both)."""


Answers = Mapping[str, Mapping[str, Answer]]


def answer_cost(answer: Answer, price: Mapping[str, float]) -> float:
    return (answer.prompt_tokens + answer.completion_tokens) * price[answer.core] / 1000


def outcome(
    name: str, choice: Mapping[str, str], answers: Answers, price: Mapping[str, float]
) -> Outcome:
    """A strategy that sends each task to one core: choice[task_id] = core."""
    picked = [answers[core][task_id] for task_id, core in choice.items()]
    return Outcome(
        name=name,
        quality=sum(a.passed for a in picked) / len(picked),
        cost=sum(answer_cost(a, price) for a in picked),
        deep_share=sum(core == "deep" for core in choice.values()) / len(choice),
        wall_s=sum(a.latency_s for a in picked),
    )


def cascade(
    tasks: Sequence[Task], answers: Answers, price: Mapping[str, float], min_mean_logprob: float
) -> Outcome:
    """Swift first; deep too when the tests fail (code) or swift is not confident (math)."""
    passed, cost, wall, escalated = 0, 0.0, 0.0, 0
    for task in tasks:
        swift = answers["swift"][task.id]
        cost, wall = cost + answer_cost(swift, price), wall + swift.latency_s
        rejected = (
            not swift.passed if task.domain == "code" else swift.mean_logprob < min_mean_logprob
        )
        final = swift
        if rejected:
            final, escalated = answers["deep"][task.id], escalated + 1
            cost, wall = cost + answer_cost(final, price), wall + final.latency_s
        passed += final.passed
    return Outcome("cascade", passed / len(tasks), cost, escalated / len(tasks), wall)


def policy_choice(policy: TwoStagePolicy, tasks: Sequence[Task]) -> dict[str, str]:
    idle = {name: CoreState() for name in ("deep", "swift")}
    return {task.id: policy.choose(task_request(task, "auto"), idle).core for task in tasks}


def with_threshold(policy: TwoStagePolicy, threshold: float) -> TwoStagePolicy:
    """The same policy with `threshold` as the effective deep bar (no price surcharge)."""
    config = policy.config.model_copy(update={"deep_threshold": threshold, "cost_weight": 0.0})
    return TwoStagePolicy(config, policy.classifier)


def pgr(quality: float, swift: float, deep: float) -> float:
    return (quality - swift) / (deep - swift)


def gain_curve(
    points: Sequence[Outcome], swift: Outcome, deep: Outcome
) -> list[tuple[float, float]]:
    """(deep share, PGR) through the sweep, anchored at all-swift and all-deep."""
    by_share: dict[float, list[float]] = {0.0: [0.0], 1.0: [1.0]}
    for point in points:
        by_share.setdefault(point.deep_share, []).append(
            pgr(point.quality, swift.quality, deep.quality)
        )
    return sorted((share, sum(v) / len(v)) for share, v in by_share.items())


def interpolate(curve: Sequence[tuple[float, float]], share: float) -> float:
    for (x0, y0), (x1, y1) in itertools.pairwise(curve):
        if x0 <= share <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (share - x0) / (x1 - x0)
    return curve[-1][1]


def apgr(curve: Sequence[tuple[float, float]]) -> float:
    """Mean PGR over deep-call shares 0..1 (random routing: 0.5)."""
    return sum(interpolate(curve, i / GRID) for i in range(GRID + 1)) / (GRID + 1)


def share_for_gain(curve: Sequence[tuple[float, float]], target: float) -> float | None:
    """Smallest deep-call share whose PGR reaches `target`."""
    for i in range(GRID + 1):
        if interpolate(curve, i / GRID) >= target - 1e-9:
            return i / GRID
    return None


def random_at_cost(cost: float, swift: Outcome, deep: Outcome) -> Outcome:
    """Expected outcome of sending each task to deep with the probability that matches `cost`."""
    span = deep.cost - swift.cost
    p = min(max((cost - swift.cost) / span, 0.0), 1.0) if span > 0 else 0.0
    return Outcome(
        name="random (router's cost)",
        quality=swift.quality + p * (deep.quality - swift.quality),
        cost=swift.cost + p * span,
        deep_share=p,
        wall_s=swift.wall_s + p * (deep.wall_s - swift.wall_s),
    )


def compare(policy: TwoStagePolicy, tasks: Sequence[Task], answers: Answers) -> dict[str, object]:
    """Every strategy, the threshold sweep and the RouteLLM metrics, JSON-ready."""
    price = policy.config.price
    ids = [task.id for task in tasks]
    swift = outcome("always-swift", dict.fromkeys(ids, "swift"), answers, price)
    deep = outcome("always-deep", dict.fromkeys(ids, "deep"), answers, price)
    router = outcome("router", policy_choice(policy, tasks), answers, price)
    sweep = [
        (
            t,
            outcome(
                f"router@{t:.2f}", policy_choice(with_threshold(policy, t), tasks), answers, price
            ),
        )
        for t in SWEEP
    ]
    random = random_at_cost(router.cost, swift, deep)
    strategies = [swift, deep, router, random]
    strategies += [o for t, o in sweep if t in (0.3, 0.4, 0.5, 0.6, 0.7)]
    strategies.append(cascade(tasks, answers, price, policy.config.cascade.min_mean_logprob))
    gap = deep.quality - swift.quality
    report: dict[str, object] = {
        "strategies": [asdict(s) for s in strategies],
        "curve": [{"threshold": t, **asdict(o)} for t, o in sweep],
        "quality_gap": round(gap, 4),
    }
    if gap <= 0:
        report.update(apgr=None, router_beats_random=False, deep_share_for_50=None)
        report.update(
            deep_share_for_80=None, note="deep is not better than swift here: no gain to route for"
        )
        return report
    curve = gain_curve([o for _, o in sweep], swift, deep)
    value = apgr(curve)
    report.update(
        apgr=round(value, 4),
        router_beats_random=router.quality > random.quality and value > 0.5,
        router_pgr=round(pgr(router.quality, swift.quality, deep.quality), 4),
        deep_share_for_50=share_for_gain(curve, 0.5),
        deep_share_for_80=share_for_gain(curve, 0.8),
    )
    return report
