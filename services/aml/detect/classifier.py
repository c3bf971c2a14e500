"""The gradient-boosted risk model: LightGBM trained on labelled features, calibrated, saved.

Training runs k-fold out-of-fold predictions first: they fit the isotonic calibration and pick the
F1-optimal threshold on data the fold model never saw, then a final model is trained on all rows.
Class imbalance is handled twice: positives get a `scale_pos_weight` of sqrt(neg/pos) (enough to
give splits to the rare class without swamping it), and very large training sets keep every
positive but a sample of negatives, each weighted back by the inverse sampling rate in
calibration and threshold choice. The artifact is a directory: `model.txt` (LightGBM's own text
format) and `model.json` (feature names, level, threshold, calibration, training data, metrics,
version). Seeded and deterministic; at most `n_jobs` threads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.detect.calibration import Calibration, best_f1_threshold, fit_isotonic

ARTIFACT_VERSION = 1
Level = Literal["account", "transaction"]


@dataclass(frozen=True)
class TrainConfig:
    """LightGBM and protocol settings; the defaults are what `twincore aml train` uses."""

    rounds: int = 600  # boosting rounds
    learning_rate: float = 0.02  # slow and long: carries better across AMLSim typologies
    num_leaves: int = 15  # small trees: a few thousand positives at most
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    folds: int = 4  # out-of-fold predictions for calibration and the threshold
    max_negatives: int = 400_000  # negatives kept (sampled) when a set is larger
    seed: int = 0
    n_jobs: int = 1  # OpenMP threads; on a shared 2-core machine 2 threads run 20x slower


@dataclass
class RiskModel:
    """A trained, calibrated classifier over one feature table (accounts or transactions)."""

    booster: lgb.Booster
    level: Level
    feature_names: list[str]
    threshold: float
    calibration: Calibration
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """What names this model in a run record: artifact version and training data."""
        trained_on = "+".join(self.metadata.get("trained_on", [])) or "unknown"
        return f"v{ARTIFACT_VERSION}:{self.level}:{trained_on}"

    @staticmethod
    def exists(directory: Path) -> bool:
        """Whether `directory` holds a saved model."""
        return (directory / "model.json").is_file() and (directory / "model.txt").is_file()

    def raw_scores(self, features: pd.DataFrame) -> np.ndarray:
        """Uncalibrated LightGBM probabilities [n]."""
        matrix = self._matrix(features)
        if not len(matrix):
            return np.zeros(0)
        return np.asarray(self.booster.predict(matrix), dtype=np.float64)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated laundering probabilities [n]."""
        return self.calibration.apply(self.raw_scores(features))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """SHAP contributions [n, n_features + 1] (last column: the bias) in log-odds."""
        matrix = self._matrix(features)
        if not len(matrix):
            return np.zeros((0, len(self.feature_names) + 1))
        return np.asarray(self.booster.predict(matrix, pred_contrib=True), dtype=np.float64)

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise ValueError(f"features missing for this model: {missing[:5]}")
        return np.asarray(features[self.feature_names].to_numpy(dtype=np.float32))

    def save(self, directory: Path) -> Path:
        """Write model.txt + model.json into `directory` (created); returns the directory."""
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / "model.txt"))
        meta = {
            "version": ARTIFACT_VERSION,
            "level": self.level,
            "feature_names": self.feature_names,
            "threshold": self.threshold,
            "calibration": self.calibration.as_dict(),
            **self.metadata,
        }
        (directory / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        """Read an artifact written by `save`; a missing or foreign one raises ValueError."""
        meta_path, model_path = directory / "model.json", directory / "model.txt"
        if not meta_path.is_file() or not model_path.is_file():
            raise ValueError(f"no AML model at {directory} (model.json and model.txt expected)")
        meta = json.loads(meta_path.read_text())
        if meta.get("version") != ARTIFACT_VERSION:
            raise ValueError(f"AML model version {meta.get('version')} != {ARTIFACT_VERSION}")
        booster = lgb.Booster(model_file=str(model_path))
        known = {"version", "level", "feature_names", "threshold", "calibration"}
        return cls(
            booster=booster,
            level=meta["level"],
            feature_names=list(meta["feature_names"]),
            threshold=float(meta["threshold"]),
            calibration=Calibration.from_dict(meta["calibration"]),
            metadata={k: v for k, v in meta.items() if k not in known},
        )


def train_model(
    features: pd.DataFrame,
    target: np.ndarray,
    *,
    level: Level,
    config: TrainConfig | None = None,
    metadata: dict[str, Any] | None = None,
    groups: np.ndarray | None = None,
) -> RiskModel:
    """Train, calibrate and threshold a model on labelled rows (target: 0/1 per row).

    `groups` (one int per row) keeps rows of one group in one fold: the payments of one
    laundering instance must not be both trained on and held out, or the out-of-fold scores,
    and so the calibration and threshold, come out optimistic."""
    config = config or TrainConfig()
    target = np.asarray(target, dtype=np.int8)
    if len(target) != len(features):
        raise ValueError("features and target differ in length")
    positives = int(target.sum())
    if positives == 0 or positives == len(target):
        raise ValueError("training needs both laundering and clean examples")
    rng = np.random.default_rng(config.seed)
    keep, weight = _sample_negatives(target, config.max_negatives, rng)
    matrix = features.to_numpy(dtype=np.float32)[keep]
    target, weight = target[keep], weight[keep]
    params = _params(config, target)

    folds = _folds(target, None if groups is None else np.asarray(groups)[keep], config, rng)
    oof = np.zeros(len(target))
    for fold in range(config.folds):
        train, held = folds != fold, folds == fold
        if not held.any() or target[train].min() == target[train].max():
            continue
        booster = lgb.train(params, lgb.Dataset(matrix[train], target[train]), config.rounds)
        oof[held] = booster.predict(matrix[held])
    calibration = fit_isotonic(oof, target, weight)
    threshold, oof_metrics = best_f1_threshold(calibration.apply(oof), target, weight)
    booster = lgb.train(params, lgb.Dataset(matrix, target), config.rounds)
    names = [str(c) for c in features.columns]
    importance = booster.feature_importance(importance_type="gain")
    top = sorted(zip(names, importance.tolist(), strict=True), key=lambda kv: -kv[1])
    meta: dict[str, Any] = {
        "rows": len(target),
        "positives": int(target.sum()),
        "oof_metrics": oof_metrics,
        "importance": {name: round(float(gain), 3) for name, gain in top[:20]},
        "params": {"rounds": config.rounds, **params},
    }
    meta.update(metadata or {})
    return RiskModel(
        booster=booster,
        level=level,
        feature_names=names,
        threshold=threshold,
        calibration=calibration,
        metadata=meta,
    )


def _folds(
    target: np.ndarray, groups: np.ndarray | None, config: TrainConfig, rng: np.random.Generator
) -> np.ndarray:
    """A fold per row: whole groups per fold, groups with positives dealt round-robin so every
    fold holds some; plain random folds when there are too few positive groups for that."""
    if groups is not None:
        _, group_index = np.unique(groups, return_inverse=True)
        positive = rng.permutation(np.unique(group_index[target == 1]))
        if len(positive) >= config.folds:
            fold_of_group = rng.integers(0, config.folds, int(group_index.max()) + 1)
            fold_of_group[positive] = np.arange(len(positive)) % config.folds
            return np.asarray(fold_of_group[group_index])
    return rng.integers(0, config.folds, len(target))


def _params(config: TrainConfig, target: np.ndarray) -> dict[str, Any]:
    positives = max(int(target.sum()), 1)
    negatives = max(len(target) - positives, 1)
    return {
        "objective": "binary",
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": config.lambda_l2,
        "scale_pos_weight": float(np.sqrt(negatives / positives)),
        "num_threads": config.n_jobs,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


def _sample_negatives(
    target: np.ndarray, max_negatives: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices kept (all positives, at most max_negatives negatives) and their weights."""
    negatives = np.flatnonzero(target == 0)
    weight = np.ones(len(target))
    if len(negatives) <= max_negatives:
        return np.arange(len(target)), weight
    kept = rng.choice(negatives, size=max_negatives, replace=False)
    weight[negatives] = len(negatives) / max_negatives
    keep = np.sort(np.concatenate([np.flatnonzero(target == 1), kept]))
    return keep, weight
