"""Hand-off detectors: the `random` typology (a laundering chain) and simple cycles.

A *hand-off* links payment e1 = (u -> v, t1, a1) to payment e2 = (v -> w, t2, a2) when v passes
the money on: t1 <= t2 <= t1 + `hop_gap_seconds` and `hop_ratio_low` <= a2 / a1 <=
`hop_ratio_high`. The links are found by joins on (account, amount bucket, time bucket), never by
scanning pairs of rows.

- random: AMLworld's "random" pattern is a walk of transfers with no fixed shape among a small
  group; we define it as a maximal hand-off chain of at least `chain_min_hops` payments (the walk
  may come back to an account; it is not a simple cycle).
- simple_cycle: a hand-off walk of `cycle_min_length`..`cycle_max_length` payments that returns
  to the account it started from, through distinct accounts: money that goes round, in time
  order, losing a little at each hop. Found by expanding walks one link at a time
  (vectorised joins, bounded by `max_walks` rows), never by enumerating the graph's cycles.
"""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.detect.detectors.base import (
    DetectorConfig,
    PatternHit,
    saturating,
)
from twincore.services.aml.detect.txn_features import TxnContext

logger = logging.getLogger(__name__)


def handoff_links(ctx: TxnContext, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """All hand-offs as two parallel arrays of transaction ids (earlier, later)."""
    n = len(ctx.ts)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    width = math.log(config.hop_ratio_high / config.hop_ratio_low)
    amount_bucket = np.floor(np.log(np.maximum(ctx.amount, 1e-9)) / width).astype(np.int64)
    time_bucket = ctx.ts // max(config.hop_gap_seconds, 1)
    amount_bucket -= amount_bucket.min() - 1  # room for the -1 shift
    time_bucket -= time_bucket.min()
    span_a, span_t = int(amount_bucket.max()) + 2, int(time_bucket.max()) + 2
    rows = np.arange(n, dtype=np.int64)

    def key(account: np.ndarray, a: np.ndarray, t: np.ndarray) -> np.ndarray:
        combined: np.ndarray = (account.astype(np.int64) * span_a + a) * span_t + t
        return combined

    later = pd.DataFrame({"key": key(ctx.src, amount_bucket, time_bucket), "r2": rows})
    found: list[pd.DataFrame] = []
    # |log a2 - log a1| <= width, so a2's amount bucket is within one of a1's; t2 is in t1's
    # time bucket or the next.
    for da, dt in itertools.product((-1, 0, 1), (0, 1)):
        earlier = pd.DataFrame(
            {"key": key(ctx.dst, amount_bucket + da, time_bucket + dt), "r1": rows}
        )
        found.append(earlier.merge(later, on="key")[["r1", "r2"]])
    pairs = pd.concat(found, ignore_index=True)
    r1, r2 = pairs["r1"].to_numpy(), pairs["r2"].to_numpy()
    dt_s = ctx.ts[r2] - ctx.ts[r1]
    ratio = ctx.amount[r2] / np.maximum(ctx.amount[r1], 1e-9)
    keep = (
        (dt_s >= 0)
        & (dt_s <= config.hop_gap_seconds)
        & (ratio >= config.hop_ratio_low)
        & (ratio <= config.hop_ratio_high)
        & (r2 > r1)  # rows are in time order: this keeps the link graph acyclic
    )
    return r1[keep], r2[keep]


def random_chain_hits(
    ctx: TxnContext, config: DetectorConfig, links: tuple[np.ndarray, np.ndarray]
) -> list[PatternHit]:
    """Maximal hand-off chains of >= chain_min_hops payments."""
    first, then = links
    n = len(ctx.ts)
    if not len(first):
        return []
    depth = np.zeros(n, dtype=np.int64)  # links in the longest chain ending at each payment
    for _ in range(config.chain_max_hops - 1):
        updated = depth.copy()
        np.maximum.at(updated, then, depth[first] + 1)
        if np.array_equal(updated, depth):
            break
        depth = updated
    best = depth[first] + 1 == depth[then]
    previous = np.full(n, -1, dtype=np.int64)
    previous[then[best]] = first[best]
    extended = np.zeros(n, dtype=bool)
    extended[first[best]] = True
    ends = np.flatnonzero((depth >= config.chain_min_hops - 1) & ~extended)
    ends = ends[np.argsort(-depth[ends], kind="stable")][: config.max_hits]
    hits: list[PatternHit] = []
    for end in ends:
        path = [int(end)]
        while previous[path[-1]] >= 0 and len(path) < config.chain_max_hops:
            path.append(int(previous[path[-1]]))
        path.reverse()
        walk = [int(ctx.src[path[0]])] + [int(ctx.dst[p]) for p in path]
        accounts = list(dict.fromkeys(walk))
        hops = len(path)
        hits.append(
            PatternHit(
                pattern="random",
                accounts=accounts,
                transactions=path,
                window=(int(ctx.ts[path[0]]), int(ctx.ts[path[-1]])),
                score=round(float(saturating(np.array(hops), config.chain_min_hops)), 4),
                evidence={
                    "hops": hops,
                    "first_amount": round(float(ctx.amount[path[0]]), 2),
                    "last_amount": round(float(ctx.amount[path[-1]]), 2),
                    "hub": accounts[0],
                },
            )
        )
    return hits


def cycle_hits(
    ctx: TxnContext, config: DetectorConfig, links: tuple[np.ndarray, np.ndarray]
) -> list[PatternHit]:
    """Hand-off walks of cycle_min_length..cycle_max_length payments closing on their start."""
    first, then = links
    if not len(first):
        return []
    step = pd.DataFrame({"last": first, "next": then})
    # walks: one row per open walk; columns e0..ek are its payments in order
    walks = pd.DataFrame({"e0": first, "e1": then})
    found: list[np.ndarray] = []
    for length in range(2, config.cycle_max_length + 1):
        last = walks[f"e{length - 1}"].to_numpy()
        origin = ctx.src[walks["e0"].to_numpy()]
        closed = ctx.dst[last] == origin
        if closed.any() and length >= config.cycle_min_length:
            found.append(walks[closed].to_numpy())
        if length == config.cycle_max_length:
            break
        # A walk through an account twice before closing is not a simple cycle: drop it.
        visits = np.stack([ctx.src[walks[f"e{i}"].to_numpy()] for i in range(length)], axis=1)
        repeated = (visits[:, 1:] == ctx.dst[last][:, None]).any(axis=1)
        open_walks = walks[~closed & ~repeated]
        walks = open_walks.merge(
            step.rename(columns={"last": f"e{length - 1}", "next": f"e{length}"}),
            on=f"e{length - 1}",
        )
        if len(walks) > config.max_walks:
            logger.info("cycle search stops at %d open walks of length %d", len(walks), length)
            break
        if walks.empty:
            break
    hits: list[PatternHit] = []
    for block in found:
        for row in block[: config.max_hits]:
            path = [int(t) for t in row]
            ring = [int(ctx.src[t]) for t in path]
            hits.append(
                PatternHit(
                    pattern="simple_cycle",
                    accounts=ring,
                    transactions=path,
                    window=(int(ctx.ts[path[0]]), int(ctx.ts[path[-1]])),
                    # longer rings are stronger: 2 accounts 0.5 ... 6 accounts 1.0
                    score=round(0.5 + 0.125 * (min(len(ring), 6) - 2), 4),
                    evidence={
                        "length": len(ring),
                        "first_amount": round(float(ctx.amount[path[0]]), 2),
                        "last_amount": round(float(ctx.amount[path[-1]]), 2),
                        "hub": ring[0],
                    },
                )
            )
    return hits
