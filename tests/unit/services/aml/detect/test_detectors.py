"""Each pattern detector finds its planted pattern and stays silent on clean traffic."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from twincore.services.aml.detect.detectors import PATTERNS, DetectorConfig, run_detectors


def test_clean_background_raises_no_hit(synth: SimpleNamespace) -> None:
    hits = run_detectors(synth.dataset(synth.background()))
    assert hits == []


@pytest.mark.parametrize("pattern", PATTERNS)
def test_detector_finds_its_planted_pattern(synth: SimpleNamespace, pattern: str) -> None:
    payments = synth.background()
    core = synth.plant(pattern, payments)
    data = synth.dataset(payments)
    laundering = set(data.transactions.index[data.transactions["label"] == 1])

    hits = run_detectors(data, patterns=[pattern])

    assert hits, f"{pattern} not found"
    best = max(hits, key=lambda h: len(set(h.transactions) & laundering))
    assert best.pattern == pattern
    assert set(core) <= set(best.accounts)
    # The hit is the planted instance: most of its transactions are the laundering ones.
    assert len(set(best.transactions) & laundering) >= 0.8 * len(laundering)
    assert 0.0 < best.score <= 1.0
    assert best.window[0] <= best.window[1]
    assert best.as_dict()["pattern"] == pattern


def test_other_detectors_ignore_a_fan_out(synth: SimpleNamespace) -> None:
    payments = synth.background()
    synth.plant("fan_out", payments)
    found = {h.pattern for h in run_detectors(synth.dataset(payments))}
    assert "fan_out" in found
    assert not found & {"simple_cycle", "random", "bipartite", "stack", "structuring"}


def test_thresholds_are_configurable(synth: SimpleNamespace) -> None:
    payments = synth.background()
    synth.plant("fan_out", payments)  # six payees, plus the two habitual ones
    data = synth.dataset(payments)
    assert run_detectors(data, DetectorConfig(fan_min=5), patterns=["fan_out"])
    assert not run_detectors(data, DetectorConfig(fan_min=12), patterns=["fan_out"])


def test_structuring_window_is_configurable(synth: SimpleNamespace) -> None:
    payments = synth.background()
    synth.plant("structuring", payments)  # four payments one day apart
    data = synth.dataset(payments)
    short = DetectorConfig(window_seconds=2 * synth.DAY, structuring_min_count=3)
    assert not run_detectors(data, short, patterns=["structuring"])
    assert run_detectors(data, patterns=["structuring"])


def test_unknown_pattern_is_refused(synth: SimpleNamespace) -> None:
    with pytest.raises(ValueError, match="unknown patterns"):
        run_detectors(synth.dataset(synth.background()), patterns=["smurfing"])
