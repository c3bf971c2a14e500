"""Vectorised grouping helpers the detectors share: per-group distinct counts and hit assembly."""

from __future__ import annotations

from typing import Any

import numpy as np

from twincore.services.aml.detect.arrays import pair_key, unique_counts, unique_sorted
from twincore.services.aml.detect.detectors.base import PatternHit
from twincore.services.aml.detect.txn_features import TxnContext


def group_keys(account: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    """One int64 key per (account, window bucket) pair."""
    if not len(bucket):
        return np.zeros(0, dtype=np.int64)
    base = bucket - bucket.min()
    keys: np.ndarray = account.astype(np.int64) * (int(base.max()) + 1) + base
    return keys


def distinct_per_row(keys: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each row, how many distinct `others` its group key has [n]."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    pairs, span = pair_key(keys, others)
    group, counts = unique_counts(unique_sorted(pairs) // span)
    return counts[np.searchsorted(group, keys)]


def burst_distinct(
    account: np.ndarray, bucket: np.ndarray, others: np.ndarray, *, minimum: int, burst: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: distinct `others` of its (account, window), and whether that window is a burst:
    at least `minimum` and at least `burst` times the account's mean over its other windows."""
    if not len(account):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    base = bucket - bucket.min()
    bucket_span = int(base.max()) + 1
    keys = account.astype(np.int64) * bucket_span + base
    pairs, other_span = pair_key(keys, others)
    groups, counts = unique_counts(unique_sorted(pairs) // other_span)
    owner = groups // bucket_span
    total = np.bincount(owner, weights=counts)
    windows = np.bincount(owner)
    others_mean = np.where(
        windows[owner] > 1, (total[owner] - counts) / np.maximum(windows[owner] - 1, 1), 0.0
    )
    burst_group = (counts >= minimum) & (counts >= burst * others_mean)
    index = np.searchsorted(groups, keys)
    return counts[index], burst_group[index]


def hits_from_groups(
    pattern: str,
    rows: np.ndarray,
    keys: np.ndarray,
    scores: np.ndarray,
    ctx: TxnContext,
    *,
    hub_of_row: np.ndarray | None,
    max_hits: int,
    max_transactions: int,
    evidence: dict[str, np.ndarray] | None = None,
) -> list[PatternHit]:
    """Turn rows tagged with a group key into one hit per group (strongest `max_hits` groups).

    `scores` and the `evidence` arrays are per row and constant within a group; `hub_of_row` names
    the account at the centre (listed first)."""
    if not len(rows):
        return []
    order = np.argsort(keys, kind="stable")
    rows, keys, scores = rows[order], keys[order], scores[order]
    hubs = hub_of_row[order] if hub_of_row is not None else None
    facts_sorted = {name: values[order] for name, values in (evidence or {}).items()}
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    strongest = np.argsort(-scores[starts], kind="stable")[:max_hits]
    hits: list[PatternHit] = []
    for g in strongest:
        start, end = int(starts[g]), int(ends[g])
        members = rows[start:end]
        members = unique_sorted(members)
        accounts = unique_sorted(np.concatenate([ctx.src[members], ctx.dst[members]]))
        first: list[int] = []
        if hubs is not None:
            hub = int(hubs[start])
            first = [hub]
            accounts = accounts[accounts != hub]
        facts: dict[str, Any] = {
            "transactions": len(members),
            "accounts": len(accounts) + len(first),
            "total_amount": round(float(ctx.amount[members].sum()), 2),
        }
        if hubs is not None:
            facts["hub"] = first[0]
        for name, values in facts_sorted.items():
            facts[name] = _plain(values[start])
        shown = members[np.argsort(ctx.ts[members], kind="stable")][:max_transactions]
        hits.append(
            PatternHit(
                pattern=pattern,
                accounts=first + [int(a) for a in accounts],
                transactions=[int(t) for t in shown],
                window=(int(ctx.ts[members].min()), int(ctx.ts[members].max())),
                score=round(float(scores[start]), 4),
                evidence=facts,
            )
        )
    return hits


def _plain(value: Any) -> Any:
    """numpy scalars to JSON-friendly Python values."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return round(float(value), 4)
    return value
