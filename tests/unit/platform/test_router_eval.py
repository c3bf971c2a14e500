"""Strategy metrics on recorded answers: cost, PGR, APGR, matched-cost random, cascade."""

from __future__ import annotations

import pytest

from twincore.platform.evals.answers import Answer
from twincore.platform.evals.router_eval import (
    Outcome,
    apgr,
    cascade,
    compare,
    gain_curve,
    outcome,
    random_at_cost,
    share_for_gain,
)
from twincore.platform.evals.tasks import Task
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.rules import load_policy

PRICE = {"deep": 1.0, "swift": 0.1}


def task(task_id: str, domain: str, prompt: str) -> Task:
    return Task(task_id, domain, "g", prompt, "4", "", "", 32)  # type: ignore[arg-type]


def answer(
    task_id: str, core: str, passed: bool, tokens: int = 100, logprob: float = -0.5
) -> Answer:
    return Answer(task_id, core, passed, 0, tokens, 1.0, logprob, "text")


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


def test_cascade_escalates_failed_code_and_unsure_math() -> None:
    tasks = [task("c", "code", "x"), task("m", "math", "y"), task("k", "math", "z")]
    answers = {
        "swift": {
            "c": answer("c", "swift", False),
            "m": answer("m", "swift", False, logprob=-3.0),
            "k": answer("k", "swift", True, logprob=-0.1),
        },
        "deep": {t.id: answer(t.id, "deep", True) for t in tasks},
    }
    result = cascade(tasks, answers, PRICE, min_mean_logprob=-1.0)
    assert result.quality == 1.0 and result.deep_share == pytest.approx(2 / 3)
    assert result.cost == pytest.approx(3 * 0.01 + 2 * 0.1)


def test_compare_reports_every_strategy_and_the_metrics() -> None:
    policy = TwoStagePolicy(load_policy(), TaskClassifier.load())
    tasks = [
        task("easy", "math", "What is 3 + 4? Finish with a final line 'Answer: <number>'."),
        task(
            "hard",
            "code",
            "Implement Dijkstra's algorithm with a binary heap for a weighted directed graph, "
            "returning shortest paths, with full unit tests and complexity analysis.",
        ),
    ]
    answers = {
        "swift": {"easy": answer("easy", "swift", True), "hard": answer("hard", "swift", False)},
        "deep": {"easy": answer("easy", "deep", True), "hard": answer("hard", "deep", True)},
    }
    report = compare(policy, tasks, answers)
    names = [s["name"] for s in report["strategies"]]  # type: ignore[index]
    assert names[:4] == ["always-swift", "always-deep", "router", "random (router's cost)"]
    assert {"name", "quality", "cost", "deep_share"} <= set(report["strategies"][0])  # type: ignore[index]
    assert len(report["curve"]) == 21  # type: ignore[arg-type]
    assert isinstance(report["apgr"], float) and isinstance(report["router_beats_random"], bool)
    assert report["quality_gap"] == 0.5
