"""The risk model: calibration, threshold, training, artifact round trip, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twincore.services.aml.detect.calibration import best_f1_threshold, fit_isotonic
from twincore.services.aml.detect.classifier import RiskModel, TrainConfig, train_model

FAST = TrainConfig(rounds=40, learning_rate=0.1, folds=3)


def _toy(n: int = 2_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    target = (signal + 0.5 * rng.normal(size=n) > 1.6).astype(np.int8)  # ~7 % positives
    frame = pd.DataFrame({"signal": signal, "noise": rng.normal(size=n)})
    return frame, target


def test_isotonic_calibration_is_monotone_and_matches_rates() -> None:
    rng = np.random.default_rng(1)
    raw = rng.uniform(size=20_000)
    target = (rng.uniform(size=raw.size) < raw**2).astype(np.int8)  # true P(y=1) = raw^2
    calibration = fit_isotonic(raw, target)
    assert np.all(np.diff(calibration.y) >= 0)
    probe = np.array([0.1, 0.5, 0.9])
    assert np.allclose(calibration.apply(probe), probe**2, atol=0.05)


def test_f1_threshold_separates_a_clean_split() -> None:
    probability = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    target = np.array([1, 1, 1, 0, 0])
    threshold, metrics = best_f1_threshold(probability, target)
    assert 0.2 < threshold < 0.7
    assert metrics["f1"] == pytest.approx(1.0)


def test_train_save_load_round_trip(tmp_path: Path) -> None:
    features, target = _toy()
    model = train_model(features, target, level="account", config=FAST, metadata={"x": 1})
    probability = model.predict(features)
    assert probability.min() >= 0 and probability.max() <= 1
    flagged = probability >= model.threshold
    f1 = 2 * (flagged & (target == 1)).sum() / (flagged.sum() + target.sum())
    assert f1 > 0.6
    assert model.metadata["importance"]["signal"] > model.metadata["importance"].get("noise", 0)

    model.save(tmp_path / "model")
    assert RiskModel.exists(tmp_path / "model")
    loaded = RiskModel.load(tmp_path / "model")
    assert loaded.level == "account"
    assert loaded.threshold == model.threshold
    assert loaded.feature_names == ["signal", "noise"]
    assert loaded.metadata["x"] == 1
    assert np.allclose(loaded.predict(features), probability)
    contributions = loaded.contributions(features.iloc[:5])
    assert contributions.shape == (5, 3)


def test_training_is_deterministic() -> None:
    features, target = _toy(seed=3)
    first = train_model(features, target, level="account", config=FAST)
    second = train_model(features, target, level="account", config=FAST)
    assert np.array_equal(first.predict(features), second.predict(features))
    assert first.threshold == second.threshold


def test_negative_sampling_keeps_every_positive() -> None:
    features, target = _toy(n=3_000, seed=4)
    config = TrainConfig(rounds=20, folds=2, max_negatives=500)
    model = train_model(features, target, level="transaction", config=config)
    assert model.metadata["positives"] == int(target.sum())
    assert model.metadata["rows"] == int(target.sum()) + 500


def test_single_class_and_missing_features_are_refused(tmp_path: Path) -> None:
    features, target = _toy()
    with pytest.raises(ValueError, match="both"):
        train_model(features, np.zeros(len(target)), level="account", config=FAST)
    model = train_model(features, target, level="account", config=FAST)
    with pytest.raises(ValueError, match="missing"):
        model.predict(features[["signal"]])
    with pytest.raises(ValueError, match="no AML model"):
        RiskModel.load(tmp_path)
