"""Probability calibration and threshold choice for the risk model, in plain numpy.

Isotonic regression (pool-adjacent-violators) maps out-of-fold raw scores to observed laundering
rates; it is fitted on at most `max_bins` weighted quantile bins, so calibrating a million
transactions costs one sort. The decision threshold is the F1-optimal cut on the calibrated
out-of-fold probabilities, so it is chosen on training data only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """A monotone piecewise-linear map from raw score to probability."""

    x: tuple[float, ...]  # raw-score knots, increasing
    y: tuple[float, ...]  # calibrated probability at each knot, non-decreasing

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw scores [n] -> [n]."""
        if not self.x:
            return np.asarray(np.clip(raw, 0.0, 1.0), dtype=np.float64)
        return np.asarray(np.interp(raw, np.asarray(self.x), np.asarray(self.y)), dtype=np.float64)

    def as_dict(self) -> dict[str, list[float]]:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Calibration:
        return cls(x=tuple(float(v) for v in data["x"]), y=tuple(float(v) for v in data["y"]))


def fit_isotonic(
    raw: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, *, max_bins: int = 512
) -> Calibration:
    """Fit an isotonic map raw -> P(target = 1) on held-out predictions."""
    if len(raw) == 0:
        return Calibration(x=(), y=())
    weight = np.ones(len(raw)) if weight is None else weight.astype(np.float64)
    order = np.argsort(raw, kind="stable")
    raw, target, weight = raw[order], target[order].astype(np.float64), weight[order]
    # Weighted quantile bins: equal total weight per bin, at most max_bins of them.
    cumulative = np.cumsum(weight)
    bins = np.minimum((cumulative / cumulative[-1] * max_bins).astype(np.int64), max_bins - 1)
    count = np.bincount(bins, weights=weight)
    used = count > 0
    mean_x = (np.bincount(bins, weights=raw * weight) / np.where(used, count, 1))[used]
    mean_y = (np.bincount(bins, weights=target * weight) / np.where(used, count, 1))[used]
    count = count[used]
    # Pool adjacent violators over the (few) bins.
    values: list[float] = []
    weights: list[float] = []
    xs: list[float] = []
    for x_value, y_value, w_value in zip(mean_x, mean_y, count, strict=True):
        values.append(float(y_value))
        weights.append(float(w_value))
        xs.append(float(x_value))
        while len(values) > 1 and values[-2] > values[-1]:
            total = weights[-2] + weights[-1]
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / total
            merged_x = (xs[-2] * weights[-2] + xs[-1] * weights[-1]) / total
            values[-2:] = [merged]
            weights[-2:] = [total]
            xs[-2:] = [merged_x]
    return Calibration(x=tuple(xs), y=tuple(values))


def best_f1_threshold(
    probability: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None
) -> tuple[float, dict[str, float]]:
    """The cut on `probability` that maximises F1 (weighted), and the metrics there."""
    weight = np.ones(len(probability)) if weight is None else weight.astype(np.float64)
    order = np.argsort(-probability, kind="stable")
    p, t, w = probability[order], target[order].astype(np.float64), weight[order]
    true_pos = np.cumsum(w * t)
    flagged = np.cumsum(w)
    positives = float((w * t).sum())
    # Only cut between distinct probabilities: ties fall on the same side.
    last_of_run = np.append(p[1:] != p[:-1], True)
    precision = np.where(flagged > 0, true_pos / np.maximum(flagged, 1e-12), 0.0)
    recall = true_pos / max(positives, 1e-12)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall + 1e-12), 0)
    f1 = np.where(last_of_run, f1, -1.0)
    if not len(f1) or positives == 0:
        return 0.5, {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    best = int(np.argmax(f1))
    # Cut halfway to the next lower probability, so the chosen accounts stay above it.
    below = p[best + 1] if best + 1 < len(p) else 0.0
    threshold = float((p[best] + below) / 2)
    return threshold, {
        "precision": float(precision[best]),
        "recall": float(recall[best]),
        "f1": float(f1[best]),
    }
