"""Stage 2: the policy (the seed file's fixed numbers) and the classifier decide cores, budgets
and reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.load import CoreState
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.rules import PolicyConfig, PolicyFileError, load_policy, seed_policy
from twincore.platform.router.types import RouteRequest

HARD_CODE = (
    "Implement a thread-safe LRU cache in Python with TTL expiry, O(1) get and put, "
    "and a full pytest suite covering eviction order and concurrent access."
)
QUICK_CHAT = "hi! how are you today?"
IDLE = {"deep": CoreState(), "swift": CoreState()}


@pytest.fixture(scope="module")
def classifier() -> TaskClassifier:
    return TaskClassifier.load()


def policy(classifier: TaskClassifier, **overrides: object) -> TwoStagePolicy:
    config = load_policy(seed_policy()).model_copy(update=overrides)
    return TwoStagePolicy(config, classifier)


def request(text: str, model: str = "auto", **fields: object) -> RouteRequest:
    core = CoreRequest(messages=[{"role": "user", "content": text}], params=SamplingParams())
    return RouteRequest(core, model, **fields)  # type: ignore[arg-type]


def measured(ttft_ms: float, ms_per_token: float, waiting: int = 0) -> CoreState:
    return CoreState(ttft_ms=ttft_ms, ms_per_token=ms_per_token, waiting=waiting)


def test_auto_sends_hard_code_to_deep_and_small_talk_to_swift(classifier: TaskClassifier) -> None:
    two_stage = policy(classifier)
    hard = two_stage.choose(request(HARD_CODE), IDLE)
    assert hard.core == "deep"
    assert hard.labels["domain"] == "code" and hard.verify
    assert hard.max_tokens == 512  # the code budget from the policy file
    assert hard.scores["deep_score"] >= hard.scores["threshold"]
    quick = two_stage.choose(request(QUICK_CHAT), IDLE)
    assert quick.core == "swift"
    assert quick.labels["domain"] == "chat" and not quick.verify
    assert "rule" in quick.reason and quick.scores["domain.chat"] > 0.5


@pytest.mark.parametrize("model", ["deep", "swift"])
def test_explicit_model_always_wins(classifier: TaskClassifier, model: str) -> None:
    two_stage = policy(classifier, mode="cascade")
    crowded = {"deep": measured(5000, 500, waiting=50), "swift": measured(5000, 500, waiting=50)}
    for text in (HARD_CODE, QUICK_CHAT):
        decision = two_stage.choose(request(text, model, latency_target_ms=1.0), crowded)
        assert decision.core == model
        assert decision.reason == f"explicit model {model!r}"
        assert decision.mode == "direct"


def test_latency_target_below_swift_still_returns_swift_best_effort(
    classifier: TaskClassifier,
) -> None:
    cores = {"deep": measured(900, 80), "swift": measured(120, 15)}
    decision = policy(classifier).choose(request(HARD_CODE, latency_target_ms=50), cores)
    assert decision.core == "swift"
    assert "best-effort" in decision.reason
    assert decision.scores["est_ms.swift"] < decision.scores["est_ms.deep"]


def test_latency_target_moves_a_deep_request_to_swift_when_swift_meets_it(
    classifier: TaskClassifier,
) -> None:
    cores = {"deep": measured(900, 80), "swift": measured(50, 5)}
    decision = policy(classifier).choose(request(HARD_CODE, latency_target_ms=5000), cores)
    assert decision.core == "swift"
    assert "latency target 5000 ms" in decision.reason
    relaxed = policy(classifier).choose(request(HARD_CODE, latency_target_ms=10**6), cores)
    assert relaxed.core == "deep"


def test_a_dead_core_is_never_chosen(classifier: TaskClassifier) -> None:
    two_stage = policy(classifier)
    deep_down = {"deep": CoreState(live=False), "swift": CoreState()}
    decision = two_stage.choose(request(HARD_CODE), deep_down)
    assert decision.core == "swift" and "deep is down" in decision.reason
    swift_down = {"deep": CoreState(), "swift": CoreState(live=False)}
    for text in (QUICK_CHAT, HARD_CODE):
        assert two_stage.choose(request(text), swift_down).core == "deep"


def test_a_saturated_core_yields_to_a_free_one(classifier: TaskClassifier) -> None:
    cores = {"deep": CoreState(waiting=9), "swift": CoreState()}
    decision = policy(classifier).choose(request(HARD_CODE), cores)
    assert decision.core == "swift" and "deep saturated (9 waiting)" in decision.reason


def test_budget_keeps_what_the_client_chose(classifier: TaskClassifier) -> None:
    base = CoreRequest(
        messages=[{"role": "user", "content": HARD_CODE}],
        params=SamplingParams(max_tokens=40, n=2, temperature=0.7),
    )
    chosen = RouteRequest(base, client_set=frozenset({"max_tokens", "candidates", "temperature"}))
    decision = policy(classifier).choose(chosen, IDLE)
    assert (decision.max_tokens, decision.candidates, decision.temperature) == (40, 2, 0.7)
    unset = policy(classifier).choose(RouteRequest(base), IDLE)
    assert (unset.max_tokens, unset.candidates, unset.temperature) == (512, 1, 0.0)


def test_service_and_metadata_hints_fix_labels(classifier: TaskClassifier) -> None:
    decision = policy(classifier).choose(
        request(QUICK_CHAT, service="aml", hints={"difficulty": "high"}), IDLE
    )
    assert decision.labels["domain"] == "aml" and decision.labels["difficulty"] == "high"
    assert decision.scores["domain.aml"] < 1.0  # the scores stay the classifier's own view


def test_threshold_and_price_move_the_bar(classifier: TaskClassifier) -> None:
    strict = policy(classifier, deep_threshold=1.0, cost_weight=0.0)
    assert strict.threshold() == 1.0
    lenient = policy(classifier, deep_threshold=0.0, cost_weight=0.0, rules=[])
    assert lenient.choose(request(QUICK_CHAT), IDLE).core == "deep"
    priced = policy(classifier, deep_threshold=0.5, cost_weight=0.2)
    swift_price = priced.config.price["swift"]  # the packaged price: active parameters
    assert priced.threshold() == pytest.approx(0.5 + 0.2 * (1.0 - swift_price))


def test_policy_file_errors_name_the_problem(tmp_path: Path) -> None:
    bad_rule = tmp_path / "bad.yaml"
    bad_rule.write_text("rules:\n  - name: x\n    when: {domian: code}\n")
    with pytest.raises(PolicyFileError, match="unknown condition 'domian'"):
        load_policy(bad_rule)
    bad_label = tmp_path / "label.yaml"
    bad_label.write_text("rules:\n  - name: x\n    when: {domain: poetry}\n")
    with pytest.raises(PolicyFileError, match="domain takes labels"):
        load_policy(bad_label)
    with pytest.raises(PolicyFileError, match="not valid YAML"):
        (tmp_path / "broken.yaml").write_text("rules: [")
        load_policy(tmp_path / "broken.yaml")
    with pytest.raises(PolicyFileError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
    assert PolicyConfig.model_validate({}).mode == "direct"
