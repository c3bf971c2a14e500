"""Layered detectors: bipartite (a set of senders paying a set of receivers) and stack (two
bipartite layers back to back: senders -> middles -> receivers).

Inside each window we keep the payments that are at least the usual size for both their sender
and their receiver, whose sender pays at least two accounts and whose receiver is paid by at
least two, each a burst against the account's habit (`fan_burst`; a layer needs both). We take
the connected components of that graph (scipy, all windows at once) and give every account in a
component a role: sender only, receiver only, or both (a middle). A component is
- bipartite when it has >= `layer_min` senders and receivers, no middles, and at least
  `layer_density` of the possible sender -> receiver edges;
- a stack when it has >= `layer_min` senders, middles and receivers, no middle -> middle edges,
  and both layers (senders -> middles, middles -> receivers) that dense.
Components larger than `max_component` accounts are skipped.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]
from scipy.sparse import csgraph  # type: ignore[import-untyped]

from twincore.services.aml.detect.arrays import unique_sorted
from twincore.services.aml.detect.detectors.base import (
    DetectorConfig,
    PatternHit,
    window_buckets,
)
from twincore.services.aml.detect.detectors.grouping import (
    burst_distinct,
    group_keys,
    hits_from_groups,
)
from twincore.services.aml.detect.txn_features import TxnContext

SENDER, MIDDLE, RECEIVER = 0, 1, 2


def layer_hits(ctx: TxnContext, config: DetectorConfig) -> list[PatternHit]:
    """Bipartite and stack hits, both from one component analysis per window bucketing."""
    hits: list[PatternHit] = []
    # Only payments that are large for both ends: layers move sums, not everyday spending.
    large = np.flatnonzero(
        (ctx.sender_log_ratio >= 0) & (ctx.receiver_log_ratio >= 0) & (ctx.src != ctx.dst)
    )
    src, dst = ctx.src[large], ctx.dst[large]
    for _, bucket in window_buckets(ctx.ts[large], config.window_seconds):
        out_keys, in_keys = group_keys(src, bucket), group_keys(dst, bucket)
        _, sends = burst_distinct(src, bucket, dst, minimum=2, burst=config.fan_burst)
        _, receives = burst_distinct(dst, bucket, src, minimum=2, burst=config.fan_burst)
        rows = np.flatnonzero(sends & receives)
        if not len(rows):
            continue
        hits += _components(large[rows], out_keys[rows], in_keys[rows], ctx, config)
    return hits


def _components(
    rows: np.ndarray,
    sender_keys: np.ndarray,
    receiver_keys: np.ndarray,
    ctx: TxnContext,
    config: DetectorConfig,
) -> list[PatternHit]:
    nodes = unique_sorted(np.concatenate([sender_keys, receiver_keys]))
    inverse = np.searchsorted(nodes, np.concatenate([sender_keys, receiver_keys]))
    a, b = inverse[: len(rows)], inverse[len(rows) :]
    size = len(nodes)
    graph = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(size, size))
    _, label = csgraph.connected_components(graph, directed=False)
    edges = unique_sorted(a.astype(np.int64) * size + b)
    ea, eb = edges // size, edges % size
    out_degree = np.bincount(ea, minlength=size)
    in_degree = np.bincount(eb, minlength=size)
    role = np.where(in_degree == 0, SENDER, np.where(out_degree == 0, RECEIVER, MIDDLE))
    n_comp = int(label.max()) + 1
    count = {r: np.bincount(label, weights=role == r, minlength=n_comp) for r in (0, 1, 2)}
    members = np.bincount(label, minlength=n_comp)

    def edge_count(from_role: int, to_role: int) -> np.ndarray:
        chosen = (role[ea] == from_role) & (role[eb] == to_role)
        return np.bincount(label[ea[chosen]], minlength=n_comp).astype(np.float64)

    s, m, r = count[SENDER], count[MIDDLE], count[RECEIVER]
    k, density = config.layer_min, config.layer_density
    small = members <= config.max_component
    sr, sm, mr, mm = (edge_count(*pair) for pair in ((0, 2), (0, 1), (1, 2), (1, 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        bipartite = small & (s >= k) & (r >= k) & (m == 0) & (sr >= density * s * r)
        stack = (
            small
            & (s >= k)
            & (m >= k)
            & (r >= k)
            & (mm == 0)
            & (sm >= density * s * m)
            & (mr >= density * m * r)
        )
        fill_bip = np.where(bipartite, sr / np.maximum(s * r, 1), 0.0)
        fill_stack = np.where(stack, (sm + mr) / np.maximum(s * m + m * r, 1), 0.0)
    hits: list[PatternHit] = []
    component_of_row = label[a]
    for pattern, chosen, fill in (
        ("bipartite", bipartite, fill_bip),
        ("stack", stack, fill_stack),
    ):
        in_pattern = chosen[component_of_row]
        if not in_pattern.any():
            continue
        comp = component_of_row[in_pattern]
        hits += hits_from_groups(
            pattern,
            rows[in_pattern],
            comp,
            0.5 + 0.5 * fill[comp],  # denser layers score higher
            ctx,
            hub_of_row=None,
            max_hits=config.max_hits,
            max_transactions=config.max_hit_transactions,
            evidence={
                "senders": s[comp].astype(np.int64),
                "middles": m[comp].astype(np.int64),
                "receivers": r[comp].astype(np.int64),
                "density": fill[comp],
            },
        )
    return hits
