"""Routing strategies compared on the same recorded answers: quality against cost.

Strategies: always swift, always deep, the router's policy (as configured and swept over deep
thresholds), random routing at the router's cost, a cascade (swift first; deep when the
service's checker rejects swift's answer) and `router+escalation`, what the platform does: the
policy's first core, then deep when that was swift and its checker said no. Metrics follow
RouteLLM: PGR is the share of deep's quality gain over swift that a strategy recovers; APGR is
its mean over deep-call shares from 0 to 1 (random routing scores 0.5); and the deep-call share
a strategy needs for 50% and 80% of the gain. Quality counts ground truth (`passed`); only the
escalating strategies look at the checker (`verified`), as they would at run time.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.platform.evals.answers import Answer
from twincore.platform.evals.workloads import WorkItem
from twincore.platform.router.load import CoreState
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.types import RouteRequest

SWEEP = tuple(round(0.05 * i, 2) for i in range(21))
GRID = 100
MIN_GAP = 0.05
"""Below this quality gap between the cores PGR divides by noise (APGR of 1.5 on a 3-point gap):
APGR is then not reported."""


@dataclass(frozen=True)
class Outcome:
    name: str
    quality: float
    """Share of items whose answer was right (ground truth)."""
    cost: float
    """Tokens (prompt + completion) times each core's relative price per 1000 tokens."""
    deep_share: float
    """Share of items on which deep was called (escalations included)."""
    wall_s: float
    """Sum of the answering requests' latencies (escalated items count both)."""


Answers = Mapping[str, Mapping[str, Answer]]
"""answers[core][item_id]"""


def answer_cost(answer: Answer, price: Mapping[str, float]) -> float:
    return (answer.prompt_tokens + answer.completion_tokens) * price[answer.core] / 1000


def outcome(
    name: str, choice: Mapping[str, str], answers: Answers, price: Mapping[str, float]
) -> Outcome:
    """A strategy that sends each item to one core: choice[item_id] = core."""
    picked = [answers[core][item_id] for item_id, core in choice.items()]
    return Outcome(
        name=name,
        quality=sum(a.passed for a in picked) / len(picked),
        cost=sum(answer_cost(a, price) for a in picked),
        deep_share=sum(core == "deep" for core in choice.values()) / len(choice),
        wall_s=sum(a.latency_s for a in picked),
    )


def escalating(
    name: str, first: Mapping[str, str], answers: Answers, price: Mapping[str, float]
) -> Outcome:
    """Each item on its `first` core; where that was swift and swift's checker rejected the
    answer, deep answers too and its answer stands (both are paid for)."""
    passed, cost, wall, deep_calls = 0, 0.0, 0.0, 0
    for item_id, core in first.items():
        final = answers[core][item_id]
        cost, wall = cost + answer_cost(final, price), wall + final.latency_s
        if core == "swift" and not final.verified:
            final = answers["deep"][item_id]
            cost, wall = cost + answer_cost(final, price), wall + final.latency_s
        deep_calls += final.core == "deep"
        passed += final.passed
    return Outcome(name, passed / len(first), cost, deep_calls / len(first), wall)


def item_request(item: WorkItem) -> RouteRequest:
    """What the router sees of an item: the user's text, the service and its hints."""
    core_request = CoreRequest(
        messages=[{"role": "user", "content": item.text}],
        params=SamplingParams(),
        request_id=f"eval-{uuid.uuid4().hex[:12]}",
    )
    return RouteRequest(core_request, service=item.service, hints=item.hints)


def policy_choice(policy: TwoStagePolicy, items: Sequence[WorkItem]) -> dict[str, str]:
    idle = {name: CoreState() for name in ("deep", "swift")}
    return {item.id: policy.choose(item_request(item), idle).core for item in items}


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
    """Expected outcome of sending each item to deep with the probability that matches `cost`."""
    span = deep.cost - swift.cost
    p = min(max((cost - swift.cost) / span, 0.0), 1.0) if span > 0 else 0.0
    return Outcome(
        name="random (matched cost)",
        quality=swift.quality + p * (deep.quality - swift.quality),
        cost=swift.cost + p * span,
        deep_share=p,
        wall_s=swift.wall_s + p * (deep.wall_s - swift.wall_s),
    )


def strategies(
    policy: TwoStagePolicy, items: Sequence[WorkItem], answers: Answers
) -> dict[str, Outcome]:
    """The named strategies on `items` (random matched to router+escalation's cost)."""
    price = policy.config.price
    ids = [item.id for item in items]
    choice = policy_choice(policy, items)
    out = {
        "always-swift": outcome("always-swift", dict.fromkeys(ids, "swift"), answers, price),
        "always-deep": outcome("always-deep", dict.fromkeys(ids, "deep"), answers, price),
        "router": outcome("router", choice, answers, price),
        "cascade": escalating("cascade", dict.fromkeys(ids, "swift"), answers, price),
        "router+escalation": escalating("router+escalation", choice, answers, price),
    }
    out["random"] = random_at_cost(out["router+escalation"].cost, out["always-swift"],
                                   out["always-deep"])  # fmt: skip
    return out


def service_table(
    policy: TwoStagePolicy, items: Sequence[WorkItem], answers: Answers
) -> dict[str, dict[str, object]]:
    """Per service: each strategy's quality and cost, deep's share, and the goal checks."""
    table: dict[str, dict[str, object]] = {}
    for service in sorted({item.service for item in items}):
        subset = [item for item in items if item.service == service]
        named = strategies(policy, subset, answers)
        deep, best = named["always-deep"], _best_escalating(named)
        table[service] = {
            "items": len(subset),
            "strategies": {name: asdict(o) for name, o in named.items()},
            "best": best.name,
            "quality_vs_deep": _ratio(best.quality, deep.quality),
            "cost_vs_deep": _ratio(best.cost, deep.cost),
            "router_beats_random": named["router+escalation"].quality
            > named["random"].quality + 1e-9,
        }
    return table


def compare(
    policy: TwoStagePolicy, items: Sequence[WorkItem], answers: Answers
) -> dict[str, object]:
    """Every strategy, the threshold sweep, per-service tables and the RouteLLM metrics."""
    price = policy.config.price
    named = strategies(policy, items, answers)
    swift, deep = named["always-swift"], named["always-deep"]
    sweep = [
        (t, outcome(f"router@{t:.2f}", policy_choice(with_threshold(policy, t), items), answers,
                    price))
        for t in SWEEP
    ]  # fmt: skip
    listed = [*named.values()] + [o for t, o in sweep if t in (0.3, 0.5, 0.7)]
    best = _best_escalating(named)
    gap = deep.quality - swift.quality
    report: dict[str, object] = {
        "strategies": [asdict(s) for s in listed],
        "curve": [{"threshold": t, **asdict(o)} for t, o in sweep],
        "quality_gap": round(gap, 4),
        "best": best.name,
        "quality_vs_deep": _ratio(best.quality, deep.quality),
        "cost_vs_deep": _ratio(best.cost, deep.cost),
        "services": service_table(policy, items, answers),
    }
    if gap < MIN_GAP:
        report.update(apgr=None, router_beats_random=False, deep_share_for_50=None)
        report.update(
            deep_share_for_80=None,
            note=f"deep is not {MIN_GAP:.0%} better than swift here: no gain to route for",
        )
        return report
    curve = gain_curve([o for _, o in sweep], swift, deep)
    value = apgr(curve)
    platform = named["router+escalation"]
    report.update(
        apgr=round(value, 4),
        router_beats_random=platform.quality > named["random"].quality and value > 0.5,
        router_pgr=round(pgr(platform.quality, swift.quality, deep.quality), 4),
        deep_share_for_50=share_for_gain(curve, 0.5),
        deep_share_for_80=share_for_gain(curve, 0.8),
    )
    return report


def _best_escalating(named: Mapping[str, Outcome]) -> Outcome:
    """Of the strategies the platform can run, the better quality, then the cheaper."""
    candidates = [named["cascade"], named["router+escalation"], named["router"]]
    return max(candidates, key=lambda o: (round(o.quality, 6), -o.cost))


def _ratio(value: float, reference: float) -> float | None:
    return round(value / reference, 4) if reference > 0 else None
