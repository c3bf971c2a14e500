"""Laundering-pattern detectors over time windows: the eight AMLworld typologies plus structuring.

Each detector reads a `Dataset` (and the shared per-transaction columns) and returns
`PatternHit`s: which accounts and transactions form the pattern, in which time window, a score in
0..1 and the evidence (counts, amounts) behind it. Windows are tumbling windows of
`window_seconds` laid twice, the second shifted by half a window, so a pattern that straddles a
boundary still falls whole inside one of them; duplicate hits are merged. All thresholds live in
`DetectorConfig` with their defaults documented there.
"""

from __future__ import annotations

from twincore.services.aml.detect.detectors.base import PATTERNS, DetectorConfig, PatternHit
from twincore.services.aml.detect.detectors.run import run_detectors

__all__ = ["PATTERNS", "DetectorConfig", "PatternHit", "run_detectors"]
