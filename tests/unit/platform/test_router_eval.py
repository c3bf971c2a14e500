"""Strategy metrics on recorded answers: cost, PGR, APGR, matched-cost random, cascade."""

from __future__ import annotations

import pytest

from twincore.platform.evals.answers import Answer
from twincore.platform.evals.router_eval import (
    Outcome,
    apgr,
    compare,
    escalating,
    gain_curve,
    outcome,
    random_at_cost,
    share_for_gain,
)
from twincore.platform.evals.workloads import WorkItem, split_of
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.fit import fit_policy, policy_yaml
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.rules import load_policy

PRICE = {"deep": 1.0, "swift": 0.1}


def item(item_id: str, service: str, text: str) -> WorkItem:
    hints = {"codegen": {"domain": "code"}, "tutor": {"domain": "math"}}.get(service, {})
    return WorkItem(item_id, service, text, hints=hints)


def answer(
    item_id: str, core: str, passed: bool, tokens: int = 100, verified: bool | None = None
) -> Answer:
    checked = passed if verified is None else verified
    return Answer(item_id, "svc", core, passed, checked, 0, tokens, 1.0, "text")


def test_outcome_counts_quality_cost_and_share() -> None:
    answers = {
        "swift": {"a": answer("a", "swift", True), "b": answer("b", "swift", False)},
        "deep": {"a": answer("a", "deep", True), "b": answer("b", "deep", True, tokens=300)},
    }
    mixed = outcome("mixed", {"a": "swift", "b": "deep"}, answers, PRICE)
    assert mixed.quality == 1.0
    assert mixed.cost == pytest.approx(100 * 0.1 / 1000 + 300 * 1.0 / 1000)
    assert mixed.deep_share == 0.5 and mixed.wall_s == 2.0


def test_apgr_is_half_for_random_and_one_for_an_oracle() -> None:
    swift = Outcome("s", 0.2, 1.0, 0.0, 0.0)
    deep = Outcome("d", 0.6, 10.0, 1.0, 0.0)
    diagonal = [Outcome("r", 0.2 + 0.4 * p, 0.0, p, 0.0) for p in (0.25, 0.5, 0.75)]
    assert apgr(gain_curve(diagonal, swift, deep)) == pytest.approx(0.5)
    oracle = [Outcome("o", 0.6, 0.0, 0.4, 0.0)]
    curve = gain_curve(oracle, swift, deep)
    assert apgr(curve) > 0.75
    assert share_for_gain(curve, 0.5) == pytest.approx(0.2)
    assert share_for_gain(curve, 0.8) == pytest.approx(0.32)


def test_random_at_matched_cost_interpolates() -> None:
    swift = Outcome("s", 0.2, 1.0, 0.0, 10.0)
    deep = Outcome("d", 0.6, 11.0, 1.0, 30.0)
    random = random_at_cost(6.0, swift, deep)
    assert random.deep_share == pytest.approx(0.5)
    assert random.quality == pytest.approx(0.4) and random.wall_s == pytest.approx(20.0)


def test_escalating_pays_both_cores_where_the_checker_rejects_swift() -> None:
    answers = {
        "swift": {
            "a": answer("a", "swift", False),  # rejected by its checker: deep answers too
            "b": answer("b", "swift", False, verified=True),  # the checker missed it: it stands
            "c": answer("c", "swift", True),
        },
        "deep": {key: answer(key, "deep", True) for key in "abc"},
    }
    result = escalating("cascade", dict.fromkeys("abc", "swift"), answers, PRICE)
    assert result.quality == pytest.approx(2 / 3) and result.deep_share == pytest.approx(1 / 3)
    assert result.cost == pytest.approx(3 * 0.01 + 0.1)
    started_on_deep = escalating("x", {"a": "deep", "b": "swift", "c": "swift"}, answers, PRICE)
    assert started_on_deep.cost == pytest.approx(0.1 + 2 * 0.01)


def test_compare_reports_every_strategy_per_service_and_the_metrics() -> None:
    policy = TwoStagePolicy(load_policy(), TaskClassifier.load())
    items = [
        item("tutor/easy", "tutor", "What is 3 + 4?"),
        item(
            "codegen/hard",
            "codegen",
            "Implement Dijkstra's algorithm with a binary heap for a weighted directed graph, "
            "returning shortest paths, with full unit tests and complexity analysis.",
        ),
    ]
    answers = {
        "swift": {
            "tutor/easy": answer("tutor/easy", "swift", True),
            "codegen/hard": answer("codegen/hard", "swift", False),
        },
        "deep": {i.id: answer(i.id, "deep", True) for i in items},
    }
    report = compare(policy, items, answers)
    names = [s["name"] for s in report["strategies"]]  # type: ignore[index]
    assert names[:6] == [
        "always-swift", "always-deep", "router", "cascade", "router+escalation",
        "random (matched cost)",
    ]  # fmt: skip
    assert len(report["curve"]) == 21  # type: ignore[arg-type]
    assert isinstance(report["apgr"], float) and isinstance(report["router_beats_random"], bool)
    assert report["quality_gap"] == 0.5
    services = report["services"]
    assert set(services) == {"tutor", "codegen"}  # type: ignore[arg-type]
    assert services["codegen"]["strategies"]["cascade"]["quality"] == 1.0  # type: ignore[index]


def test_the_split_is_stable_and_roughly_even() -> None:
    ids = [f"support/q{i:03d}" for i in range(400)]
    halves = [split_of(i) for i in ids]
    assert halves == [split_of(i) for i in ids]
    assert 150 < halves.count("calibration") < 250


def test_fit_uses_calibration_items_only_and_weights_deep_where_it_gains() -> None:
    policy = TwoStagePolicy(load_policy(), TaskClassifier.load())
    items = [item(f"tutor/p{i}", "tutor", f"A train leaves at {i} pm ...") for i in range(40)]
    items += [item(f"writing/w{i}", "writing", f"Write a haiku about rain {i}") for i in range(40)]
    answers: dict[str, dict[str, Answer]] = {"swift": {}, "deep": {}}
    for it in items:
        math = it.service == "tutor"
        answers["swift"][it.id] = answer(it.id, "swift", not math)  # swift fails math only
        answers["deep"][it.id] = answer(it.id, "deep", True)
    config = fit_policy(policy, items, answers, source="test")
    assert config.score.weights["domain.math"] == 1.0
    assert config.score.weights["domain.writing"] == 0.0
    calibrated = config.provenance["calibration_items"]
    assert sum(calibrated.values()) == sum(split_of(i.id) == "calibration" for i in items)  # type: ignore[union-attr]
    assert config.provenance["calibration"]["quality_vs_deep"] >= 0.95  # type: ignore[index]
    # Report items never influence the fit: flipping their answers changes nothing.
    for it in items:
        if split_of(it.id) == "report":
            answers["deep"][it.id] = answer(it.id, "deep", False)
    again = fit_policy(policy, items, answers, source="test")
    assert again.score.weights == config.score.weights
    assert again.deep_threshold == config.deep_threshold
    assert load_policy_text(policy_yaml(config)) == config.model_dump(mode="json")


def load_policy_text(text: str) -> dict[str, object]:
    import yaml

    from twincore.platform.router.rules import PolicyConfig

    return PolicyConfig.model_validate(yaml.safe_load(text)).model_dump(mode="json")


def test_a_gain_within_noise_of_zero_weighs_nothing() -> None:
    from twincore.platform.router.fit import lower_bound

    assert lower_bound([1.0] * 8) == 1.0  # deep always wins: certain
    one_lucky = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # deep won once in seven
    assert lower_bound(one_lucky) < 0.0
    steady = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    assert 0.4 < lower_bound(steady) < 0.8
    assert lower_bound([1.0]) == 0.0  # one item proves nothing
