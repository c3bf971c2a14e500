"""Small vectorised numpy helpers the AML features and detectors share."""

from __future__ import annotations

import numpy as np


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values by one sort (numpy's hash-based unique is slower on int64 keys)."""
    if not len(values):
        return values
    ordered = np.sort(values, kind="stable")
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and how often each occurs."""
    if not len(values):
        return values, np.zeros(0, dtype=np.int64)
    ordered = np.sort(values, kind="stable")
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])


def pair_key(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, int]:
    """One int64 per (first, second) pair, and the span to decode `first` (key // span)."""
    low = int(second.min()) if len(second) else 0
    span = (int(second.max()) - low + 1) if len(second) else 1
    return first.astype(np.int64) * span + (second.astype(np.int64) - low), span


def group_max(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Max of `values` per key 0..n-1 (0 where a key has none)."""
    result = np.full(n, -np.inf)
    np.maximum.at(result, keys, values)
    return np.where(np.isfinite(result), result, 0.0)


def group_min(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Min of `values` per key 0..n-1 (0 where a key has none)."""
    result = np.full(n, np.inf)
    np.minimum.at(result, keys, values)
    return np.where(np.isfinite(result), result, 0.0)


def safe_div(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    out = np.zeros(len(numerator))
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out
