"""What detectors share: the hit record, the configuration, window bucketing and merging."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

# The eight AMLworld typologies (Altman et al. 2023) and structuring, in report order.
PATTERNS: tuple[str, ...] = (
    "fan_out",
    "fan_in",
    "gather_scatter",
    "scatter_gather",
    "simple_cycle",
    "random",
    "bipartite",
    "stack",
    "structuring",
)


@dataclass
class PatternHit:
    """One occurrence of a pattern: its accounts and transactions inside one time window."""

    pattern: str
    accounts: list[int]
    transactions: list[int]
    window: tuple[int, int]  # (first ts, last ts) of the pattern's transactions, unix seconds
    score: float  # 0..1, how strongly the occurrence exceeds the detector's minimum
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["window"] = list(self.window)
        return data


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds of every detector. Times in seconds, amounts in the dataset's currency."""

    window_seconds: int = 7 * 86400
    """Length of the time window a pattern must fit in (AMLworld patterns span hours to days)."""
    fan_min: int = 5
    """Distinct counterparties for fan-out / fan-in inside one window."""
    fan_burst: float = 2.0
    """Fans, splits and layers must also be a burst: at least this multiple of the account's
    mean distinct counterparties over its other windows (merchants and payroll accounts fan out
    or in all the time; a laundering fan stands out against the account's own habit)."""
    split_min: int = 3
    """Distinct accounts on each side of gather-scatter and scatter-gather."""
    pass_ratio_low: float = 0.5
    """Gather-scatter: paid-out total at least this share of the gathered total."""
    pass_ratio_high: float = 1.1
    """Gather-scatter: paid-out total at most this multiple of the gathered total."""
    hop_gap_seconds: int = 5 * 86400
    """Chains and cycles: longest wait between receiving money and passing it on."""
    hop_ratio_low: float = 0.85
    """Chains and cycles: an onward payment keeps at least this share of the received amount
    (intermediaries take a cut of a few percent)."""
    hop_ratio_high: float = 1.0
    """Chains and cycles: ... and at most all of it."""
    chain_min_hops: int = 5
    """The `random` typology: a hand-off chain of at least this many payments."""
    chain_max_hops: int = 12
    """Longest chain followed (bounds the search)."""
    cycle_min_length: int = 3
    """Shortest cycle reported, in accounts (two accounts paying each other back is common)."""
    cycle_max_length: int = 6
    """Longest simple cycle searched, in accounts."""
    max_walks: int = 2_000_000
    """Cycle search: open hand-off walks kept while extending (bounds memory)."""
    layer_min: int = 2
    """Bipartite and stack: accounts per layer."""
    layer_density: float = 0.6
    """Bipartite and stack: share of possible layer-to-layer edges present."""
    structuring_threshold: float = 10_000.0
    """The reporting threshold that structuring stays under."""
    structuring_margin: float = 0.1
    """Amounts in [threshold * (1 - margin), threshold) count as just under it."""
    structuring_min_count: int = 3
    """Payments just under the threshold by (or to) one account inside one window."""
    max_component: int = 2_000
    """Bounded searches: graph components larger than this are skipped (logged)."""
    max_hits: int = 20_000
    """At most this many hits per pattern (the strongest are kept)."""
    max_hit_transactions: int = 500
    """Transactions listed per hit (the count in the evidence stays exact)."""


def window_buckets(ts: np.ndarray, window: int) -> list[tuple[int, np.ndarray]]:
    """Two tumbling bucketings of the timestamps (offset 0 and half a window)."""
    window = max(int(window), 1)
    return [(offset, (ts + offset) // window) for offset in (0, window // 2)]


def merge_hits(hits: list[PatternHit], max_hits: int) -> list[PatternHit]:
    """Drop duplicates (same pattern, same accounts), keep the strongest, at most max_hits each."""
    best: dict[tuple[str, tuple[int, ...]], PatternHit] = {}
    for hit in hits:
        key = (hit.pattern, tuple(sorted(hit.accounts)))
        kept = best.get(key)
        if kept is None or hit.score > kept.score:
            best[key] = hit
    by_pattern: dict[str, list[PatternHit]] = {}
    for hit in best.values():
        by_pattern.setdefault(hit.pattern, []).append(hit)
    merged: list[PatternHit] = []
    for pattern_hits in by_pattern.values():
        pattern_hits.sort(key=lambda h: (-h.score, h.window[0], h.accounts))
        merged.extend(pattern_hits[:max_hits])
    return merged


def saturating(value: np.ndarray, minimum: float) -> np.ndarray:
    """Score 0..1 per element: 0.5 at the detector's minimum, approaching 1 well above it."""
    excess = np.asarray(value, dtype=np.float64) - minimum
    return np.asarray(1.0 - 0.5 * np.exp(-excess / max(minimum, 1e-9)))
