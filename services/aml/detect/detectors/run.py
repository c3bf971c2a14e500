"""Run every detector over a dataset and merge their hits."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from twincore.services.aml.detect.detectors.base import (
    PATTERNS,
    DetectorConfig,
    PatternHit,
    merge_hits,
)
from twincore.services.aml.detect.detectors.chains import (
    cycle_hits,
    handoff_links,
    random_chain_hits,
)
from twincore.services.aml.detect.detectors.fans import (
    fan_hits,
    gather_scatter_hits,
    scatter_gather_hits,
    structuring_hits,
)
from twincore.services.aml.detect.detectors.layers import layer_hits
from twincore.services.aml.detect.txn_features import TxnContext, transaction_context
from twincore.services.aml.ingest.frames import Dataset

logger = logging.getLogger(__name__)


def run_detectors(
    dataset: Dataset,
    config: DetectorConfig | None = None,
    *,
    patterns: Iterable[str] = PATTERNS,
    context: TxnContext | None = None,
) -> list[PatternHit]:
    """All hits of the chosen patterns (default: all nine), strongest first per pattern."""
    config = config or DetectorConfig()
    wanted = set(patterns)
    unknown = wanted - set(PATTERNS)
    if unknown:
        raise ValueError(f"unknown patterns {sorted(unknown)}; known: {', '.join(PATTERNS)}")
    ctx = context or transaction_context(dataset)
    hits: list[PatternHit] = []
    started = time.perf_counter()
    if "fan_out" in wanted:
        hits += fan_hits(ctx, config, side="out")
    if "fan_in" in wanted:
        hits += fan_hits(ctx, config, side="in")
    if "gather_scatter" in wanted:
        hits += gather_scatter_hits(ctx, config)
    if "scatter_gather" in wanted:
        hits += scatter_gather_hits(ctx, config)
    if wanted & {"random", "simple_cycle"}:
        links = handoff_links(ctx, config)
        if "random" in wanted:
            hits += random_chain_hits(ctx, config, links)
        if "simple_cycle" in wanted:
            hits += cycle_hits(ctx, config, links)
    if wanted & {"bipartite", "stack"}:
        hits += [h for h in layer_hits(ctx, config) if h.pattern in wanted]
    if "structuring" in wanted:
        hits += structuring_hits(ctx, config)
    merged = merge_hits(hits, config.max_hits)
    logger.info(
        "detectors: %d hits over %d transactions in %.2fs",
        len(merged),
        len(ctx.ts),
        time.perf_counter() - started,
    )
    return merged
