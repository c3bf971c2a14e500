"""Graph features per account, vectorised over the whole transaction table.

Every feature is scale-free on purpose: amounts are taken relative to the dataset's median
amount (so a model trained on one currency or simulator setting carries to another), counts are
raw degrees (AMLSim and AMLworld keep comparable degree distributions across sizes), and the
laundering signal we rely on is *behavioural* rather than shape-specific: an account whose
payments break its own habits (amounts that differ from what it usually pays, repeated payments
to one counterparty, unusually small or large amounts for the dataset), money that passes through
(in roughly equal to out), bursts inside a time window, reciprocated edges, and the same signals
one hop away (two-hop aggregates), so accomplices with quiet books are still seen through their
counterparties. Pattern-detector hits are added as per-pattern counts when given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs
from scipy import sparse  # type: ignore[import-untyped]

from twincore.services.aml.detect.arrays import (
    group_max,
    group_min,
    pair_key,
    safe_div,
    unique_counts,
    unique_sorted,
)
from twincore.services.aml.detect.txn_features import TxnContext, transaction_context
from twincore.services.aml.ingest.frames import Dataset

if TYPE_CHECKING:
    from twincore.services.aml.detect.detectors import PatternHit

# Two-hop aggregates are taken over these per-account signals.
NEIGHBOUR_SIGNALS = (
    "out_mode_share",
    "repeat_pair_share",
    "out_sender_dev_max",
    "in_sender_dev_max",
    "amount_pct_min",
    "log_degree",
)


def account_features(
    dataset: Dataset,
    *,
    window_seconds: int = 7 * 86400,
    hits: Sequence[PatternHit] = (),
    patterns: Sequence[str] = (),
    context: TxnContext | None = None,
) -> pd.DataFrame:
    """One row per account key (0..n-1), float32 columns; `patterns` fixes the hit-count columns
    (so a trained model sees the same columns on any dataset)."""
    n = dataset.n_accounts
    ctx = context or transaction_context(dataset)
    src, dst = ctx.src, ctx.dst
    out: dict[str, np.ndarray] = {}

    out_count = np.bincount(src, minlength=n).astype(np.float64)
    in_count = np.bincount(dst, minlength=n).astype(np.float64)
    out["out_count"] = out_count
    out["in_count"] = in_count
    out["log_degree"] = np.log1p(out_count + in_count)
    out["out_cpty"] = _distinct(src, dst, n)
    out["in_cpty"] = _distinct(dst, src, n)

    rel = ctx.rel_amount  # amount / dataset median
    out_sum = np.bincount(src, weights=rel, minlength=n)
    in_sum = np.bincount(dst, weights=rel, minlength=n)
    out["out_sum_log"] = np.log1p(out_sum)
    out["in_sum_log"] = np.log1p(in_sum)
    out["out_mean_log"] = _safe_log(safe_div(out_sum, out_count))
    out["in_mean_log"] = _safe_log(safe_div(in_sum, in_count))
    out["out_cv"] = _cv(src, rel, out_count, n)
    out["in_cv"] = _cv(dst, rel, in_count, n)
    total = in_sum + out_sum
    out["flow_balance"] = safe_div(in_sum - out_sum, total)
    out["pass_through"] = safe_div(np.minimum(in_sum, out_sum), np.maximum(in_sum, out_sum))

    out["out_mode_share"] = _mode_share(src, ctx.amount_cents, out_count, n)
    out["in_mode_share"] = _mode_share(dst, ctx.amount_cents, in_count, n)
    out["out_distinct_amounts"] = safe_div(
        _distinct(src, ctx.amount_cents, n), np.maximum(out_count, 1)
    )

    repeated = (ctx.pair_count > 1).astype(np.float64)
    both = out_count + in_count
    out["repeat_pair_share"] = safe_div(
        np.bincount(src, weights=repeated, minlength=n)
        + np.bincount(dst, weights=repeated, minlength=n),
        both,
    )
    out["max_pair_count"] = np.maximum(
        group_max(src, ctx.pair_count.astype(np.float64), n),
        group_max(dst, ctx.pair_count.astype(np.float64), n),
    )

    # How far a payment is from what its sender usually pays: ~0 for habitual payments.
    out["out_sender_dev_mean"] = safe_div(
        np.bincount(src, weights=ctx.sender_dev, minlength=n), out_count
    )
    out["out_sender_dev_max"] = group_max(src, ctx.sender_dev, n)
    out["in_sender_dev_max"] = group_max(dst, ctx.sender_dev, n)
    out["in_receiver_dev_max"] = group_max(dst, ctx.receiver_dev, n)
    out["amount_pct_min"] = np.minimum(
        group_min(src, ctx.amount_pct, n), group_min(dst, ctx.amount_pct, n)
    )
    out["amount_pct_max"] = np.maximum(
        group_max(src, ctx.amount_pct, n), group_max(dst, ctx.amount_pct, n)
    )
    out["round_share"] = safe_div(
        np.bincount(src, weights=ctx.round_amount, minlength=n)
        + np.bincount(dst, weights=ctx.round_amount, minlength=n),
        both,
    )

    out["reciprocity"] = _reciprocity(src, dst, out["out_cpty"], n)
    out["fan_out_window_max"] = _window_fan(src, dst, ctx.ts, window_seconds, n)
    out["fan_in_window_max"] = _window_fan(dst, src, ctx.ts, window_seconds, n)
    out["burst_share"] = safe_div(_window_max_count(src, dst, ctx.ts, window_seconds, n), both)
    span = max(float(ctx.ts.max() - ctx.ts.min()), 1.0) if len(ctx.ts) else 1.0
    first = np.minimum(group_min(src, ctx.ts_f, n), group_min(dst, ctx.ts_f, n))
    last = np.maximum(group_max(src, ctx.ts_f, n), group_max(dst, ctx.ts_f, n))
    out["active_span"] = np.where(both > 0, (last - first) / span, 0.0)

    frame = pd.DataFrame(out, index=pd.RangeIndex(n, name="key"))
    _add_two_hop(frame, src, dst, n)
    members: dict[str, list[list[int]]] = {pattern: [] for pattern in patterns}
    for hit in hits:
        if hit.pattern in members:
            members[hit.pattern].append(hit.accounts)
    for pattern, lists in members.items():
        counts = np.zeros(n)
        if lists:
            np.add.at(counts, np.concatenate([np.asarray(a, dtype=np.int64) for a in lists]), 1.0)
        frame[f"hit_{pattern}"] = counts
    return frame.astype(np.float32)


def _add_two_hop(frame: pd.DataFrame, src: np.ndarray, dst: np.ndarray, n: int) -> None:
    """Mean and max of each neighbour signal over an account's distinct counterparties."""
    adjacency = sparse.coo_matrix(
        (np.ones(2 * len(src)), (np.concatenate([src, dst]), np.concatenate([dst, src]))),
        shape=(n, n),
    ).tocsr()
    adjacency.data[:] = 1.0  # duplicates were summed; distinct neighbours count once
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    rows = np.repeat(np.arange(n), np.diff(adjacency.indptr))
    for name in NEIGHBOUR_SIGNALS:
        values = frame[name].to_numpy(dtype=np.float64)
        frame[f"nbr_mean_{name}"] = safe_div(adjacency @ values, degree)
        frame[f"nbr_max_{name}"] = group_max(rows, values[adjacency.indices], n)


def _distinct(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Number of distinct `values` per key."""
    if not len(keys):
        return np.zeros(n)
    pairs, span = pair_key(keys, values)
    return np.bincount(unique_sorted(pairs) // span, minlength=n).astype(np.float64)


def _mode_share(keys: np.ndarray, values: np.ndarray, count: np.ndarray, n: int) -> np.ndarray:
    """Share of an account's payments made at its most frequent amount (1.0 when no payments)."""
    if not len(keys):
        return np.ones(n)
    pairs, span = pair_key(keys, values)
    distinct, sizes = unique_counts(pairs)
    top = group_max(distinct // span, sizes.astype(np.float64), n)
    return np.where(count > 0, top / np.maximum(count, 1), 1.0)


def _cv(keys: np.ndarray, values: np.ndarray, count: np.ndarray, n: int) -> np.ndarray:
    """Coefficient of variation of `values` per key (0 for fewer than two values)."""
    total = np.bincount(keys, weights=values, minlength=n)
    squares = np.bincount(keys, weights=values * values, minlength=n)
    mean = safe_div(total, count)
    var = np.maximum(safe_div(squares, count) - mean * mean, 0.0)
    return np.where(count > 1, safe_div(np.sqrt(var), mean), 0.0)


def _reciprocity(src: np.ndarray, dst: np.ndarray, out_cpty: np.ndarray, n: int) -> np.ndarray:
    """Share of an account's recipients that also paid it."""
    if not len(src):
        return np.zeros(n)
    edges = unique_sorted(src * np.int64(n) + dst)
    reverse = (edges % n) * np.int64(n) + edges // n
    position = np.minimum(np.searchsorted(edges, reverse), len(edges) - 1)
    back = edges[position] == reverse
    counts = np.bincount((edges // n)[back], minlength=n).astype(np.float64)
    return safe_div(counts, out_cpty)


def _window_fan(
    keys: np.ndarray, others: np.ndarray, ts: np.ndarray, window: int, n: int
) -> np.ndarray:
    """Most distinct counterparties an account had inside one time window."""
    if not len(keys):
        return np.zeros(n)
    account_bucket, bucket_span = pair_key(keys, ts // max(window, 1))
    triples, other_span = pair_key(account_bucket, others)
    groups, sizes = unique_counts(unique_sorted(triples) // other_span)
    return group_max(groups // bucket_span, sizes.astype(np.float64), n)


def _window_max_count(
    src: np.ndarray, dst: np.ndarray, ts: np.ndarray, window: int, n: int
) -> np.ndarray:
    """Most payments (in or out) an account made or received inside one time window."""
    if not len(src):
        return np.zeros(n)
    bucket = np.concatenate([ts, ts]) // max(window, 1)
    keys, bucket_span = pair_key(np.concatenate([src, dst]), bucket)
    groups, sizes = unique_counts(keys)
    return group_max(groups // bucket_span, sizes.astype(np.float64), n)


def _safe_log(values: np.ndarray) -> np.ndarray:
    return np.log(np.where(values > 0, values, 1.0))
