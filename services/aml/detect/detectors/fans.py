"""Detectors built on per-(account, window) counts: fan-out, fan-in, gather-scatter,
scatter-gather and structuring.

- fan_out / fan_in: one account pays (or is paid by) at least `fan_min` distinct counterparties
  inside one window, each payment at least the account's median size, and the window a burst
  against the account's other windows (`fan_burst`).
- gather_scatter: one hub is paid by >= `split_min` accounts and pays >= `split_min` accounts in
  the same window, passing on between `pass_ratio_low` and `pass_ratio_high` of what it gathered,
  on average after it gathered.
- scatter_gather: a source pays >= `split_min` intermediaries who each pay one common sink later
  in the same window.
- structuring: >= `structuring_min_count` payments just under the reporting threshold by one
  sender, or into one receiver, inside one window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.detect.arrays import unique_counts
from twincore.services.aml.detect.detectors.base import (
    DetectorConfig,
    PatternHit,
    saturating,
    window_buckets,
)
from twincore.services.aml.detect.detectors.grouping import (
    burst_distinct,
    group_keys,
    hits_from_groups,
)
from twincore.services.aml.detect.txn_features import TxnContext


def fan_hits(ctx: TxnContext, config: DetectorConfig, *, side: str) -> list[PatternHit]:
    """fan_out (side="out": the sender is the hub) or fan_in (side="in": the receiver is)."""
    hub, other = (ctx.src, ctx.dst) if side == "out" else (ctx.dst, ctx.src)
    # Only payments at least the hub's usual size count: an active shopper pays many merchants,
    # a laundering fan moves sums that are large for the account.
    ratio = ctx.sender_log_ratio if side == "out" else ctx.receiver_log_ratio
    large = np.flatnonzero(ratio >= 0)
    hub, other = hub[large], other[large]
    hits: list[PatternHit] = []
    for _, bucket in window_buckets(ctx.ts[large], config.window_seconds):
        keys = group_keys(hub, bucket)
        distinct, burst = burst_distinct(
            hub, bucket, other, minimum=config.fan_min, burst=config.fan_burst
        )
        rows = np.flatnonzero(burst)
        scores = saturating(distinct[rows], config.fan_min)
        hits += hits_from_groups(
            f"fan_{side}",
            large[rows],
            keys[rows],
            scores,
            ctx,
            hub_of_row=hub[rows],
            max_hits=config.max_hits,
            max_transactions=config.max_hit_transactions,
            evidence={"counterparties": distinct[rows]},
        )
    return hits


def gather_scatter_hits(ctx: TxnContext, config: DetectorConfig) -> list[PatternHit]:
    """A hub gathering from several accounts and scattering the money on to several others."""
    hits: list[PatternHit] = []
    for _, bucket in window_buckets(ctx.ts, config.window_seconds):
        in_keys = group_keys(ctx.dst, bucket)
        out_keys = group_keys(ctx.src, bucket)
        # Both key sets use one scheme (same bucket range), so they compare directly.
        _, in_ok = burst_distinct(
            ctx.dst, bucket, ctx.src, minimum=config.split_min, burst=config.fan_burst
        )
        _, out_ok = burst_distinct(
            ctx.src, bucket, ctx.dst, minimum=config.split_min, burst=config.fan_burst
        )
        hubs = np.intersect1d(in_keys[in_ok], out_keys[out_ok])
        if not len(hubs):
            continue
        in_rows = np.flatnonzero(np.isin(in_keys, hubs))
        out_rows = np.flatnonzero(np.isin(out_keys, hubs))
        frame = pd.DataFrame(
            {
                "key": np.concatenate([in_keys[in_rows], out_keys[out_rows]]),
                "side": np.r_[np.zeros(len(in_rows)), np.ones(len(out_rows))],
                "other": np.concatenate([ctx.src[in_rows], ctx.dst[out_rows]]),
                "amount": np.concatenate([ctx.amount[in_rows], ctx.amount[out_rows]]),
                "ts": np.concatenate([ctx.ts_f[in_rows], ctx.ts_f[out_rows]]),
            }
        )
        stats = frame.groupby(["key", "side"]).agg(
            distinct=("other", "nunique"), total=("amount", "sum"), mean_ts=("ts", "mean")
        )
        wide = stats.unstack("side").dropna()
        if wide.empty:
            continue
        gathered, scattered = wide[("total", 0.0)], wide[("total", 1.0)]
        ratio = scattered / gathered.where(gathered > 0)
        good = wide[
            (wide[("distinct", 0.0)] >= config.split_min)
            & (wide[("distinct", 1.0)] >= config.split_min)
            & (ratio >= config.pass_ratio_low)
            & (ratio <= config.pass_ratio_high)
            & (wide[("mean_ts", 0.0)] <= wide[("mean_ts", 1.0)])
        ]
        if good.empty:
            continue
        chosen = good.index.to_numpy()
        sides = np.minimum(good[("distinct", 0.0)], good[("distinct", 1.0)]).to_numpy()
        in_rows = np.flatnonzero(np.isin(in_keys, chosen))
        out_rows = np.flatnonzero(np.isin(out_keys, chosen))
        rows = np.concatenate([in_rows, out_rows])
        keys = np.concatenate([in_keys[in_rows], out_keys[out_rows]])
        sides_row = pd.Series(sides, index=chosen).reindex(keys).to_numpy()
        hub = np.concatenate([ctx.dst[in_rows], ctx.src[out_rows]])
        hits += hits_from_groups(
            "gather_scatter",
            rows,
            keys,
            saturating(sides_row, config.split_min),
            ctx,
            hub_of_row=hub,
            max_hits=config.max_hits,
            max_transactions=config.max_hit_transactions,
            evidence={"smaller_side": sides_row},
        )
    return hits


def scatter_gather_hits(ctx: TxnContext, config: DetectorConfig) -> list[PatternHit]:
    """Source -> several intermediaries -> one sink, the second leg after the first."""
    hits: list[PatternHit] = []
    rows_all = np.arange(len(ctx.ts))
    for _, bucket in window_buckets(ctx.ts, config.window_seconds):
        _, out_fan = burst_distinct(
            ctx.src, bucket, ctx.dst, minimum=config.split_min, burst=config.fan_burst
        )
        _, in_fan = burst_distinct(
            ctx.dst, bucket, ctx.src, minimum=config.split_min, burst=config.fan_burst
        )
        first = pd.DataFrame(
            {
                "s": ctx.src[out_fan],
                "m": ctx.dst[out_fan],
                "b": bucket[out_fan],
                "t1": ctx.ts[out_fan],
                "r1": rows_all[out_fan],
            }
        )
        second = pd.DataFrame(
            {
                "m": ctx.src[in_fan],
                "t": ctx.dst[in_fan],
                "b": bucket[in_fan],
                "t2": ctx.ts[in_fan],
                "r2": rows_all[in_fan],
            }
        )
        paths = first.merge(second, on=["m", "b"])
        paths = paths[(paths["t2"] >= paths["t1"]) & (paths["s"] != paths["t"])]
        paths = paths[(paths["m"] != paths["s"]) & (paths["m"] != paths["t"])]
        if paths.empty:
            continue
        paths = paths.assign(via=paths.groupby(["s", "t", "b"])["m"].transform("nunique"))
        paths = paths[paths["via"] >= config.split_min]
        if paths.empty:
            continue
        group = paths.groupby(["s", "t", "b"]).ngroup().to_numpy()
        rows = np.concatenate([paths["r1"].to_numpy(), paths["r2"].to_numpy()])
        keys = np.concatenate([group, group])
        via = np.concatenate([paths["via"].to_numpy(), paths["via"].to_numpy()])
        hub = np.concatenate([paths["s"].to_numpy(), paths["s"].to_numpy()])
        hits += hits_from_groups(
            "scatter_gather",
            rows,
            keys,
            saturating(via, config.split_min),
            ctx,
            hub_of_row=hub,
            max_hits=config.max_hits,
            max_transactions=config.max_hit_transactions,
            evidence={"intermediaries": via, "sink": np.concatenate([paths["t"], paths["t"]])},
        )
    return hits


def structuring_hits(ctx: TxnContext, config: DetectorConfig) -> list[PatternHit]:
    """Repeated payments just under the reporting threshold, by one sender or into one receiver."""
    low = config.structuring_threshold * (1.0 - config.structuring_margin)
    under = np.flatnonzero((ctx.amount >= low) & (ctx.amount < config.structuring_threshold))
    hits: list[PatternHit] = []
    if not len(under):
        return hits
    for _, bucket in window_buckets(ctx.ts[under], config.window_seconds):
        for hub in (ctx.src[under], ctx.dst[under]):
            keys = group_keys(hub, bucket)
            distinct, counts = unique_counts(keys)
            per_row = counts[np.searchsorted(distinct, keys)]
            chosen = per_row >= config.structuring_min_count
            hits += hits_from_groups(
                "structuring",
                under[chosen],
                keys[chosen],
                saturating(per_row[chosen], config.structuring_min_count),
                ctx,
                hub_of_row=hub[chosen],
                max_hits=config.max_hits,
                max_transactions=config.max_hit_transactions,
                evidence={
                    "just_under": per_row[chosen],
                    "threshold": np.full(int(chosen.sum()), config.structuring_threshold),
                },
            )
    return hits
