"""The generator: reproducible, every pattern planted with its labels and its shape, background
traffic that is not trivially separable (merchants with high fan-in, payroll fan-outs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twincore.services.aml.detect.detectors.base import PATTERNS
from twincore.services.aml.ingest.formats import read_dataset
from twincore.services.aml.ingest.generator import (
    GeneratorConfig,
    generate,
    read_patterns,
    write_generated,
)
from twincore.services.aml.ingest.planting import REPORTING_THRESHOLD

CONFIG = GeneratorConfig(accounts=600, days=30, seed=7, transactions=20_000)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_generated(generate(CONFIG), tmp_path_factory.mktemp("gen") / "g")


def test_same_seed_same_files_other_seed_other_files(folder: Path, tmp_path: Path) -> None:
    again = write_generated(generate(CONFIG), tmp_path / "again")
    for name in ("transactions.csv", "patterns.csv", "metadata.json"):
        assert (folder / name).read_bytes() == (again / name).read_bytes()
    other = generate(GeneratorConfig(accounts=600, days=30, seed=8, transactions=20_000))
    assert not other.transactions.equals(pd.read_csv(folder / "transactions.csv"))


def test_counts_and_rate(folder: Path) -> None:
    data = read_dataset(folder, name="g")
    data.validate()
    assert data.n_transactions == 20_000
    assert data.n_accounts <= 600
    launder = int(data.transactions["label"].sum())
    # min_instances=2 of 9 patterns dominates the 0.15 % rate at this size.
    assert 9 * 2 * 3 <= launder <= 0.02 * 20_000
    big = generate(GeneratorConfig(accounts=4_000, days=60, seed=1, transactions=400_000))
    rate = big.transactions["Is Laundering"].mean()
    assert 0.001 <= rate <= 0.002


def test_patterns_file_matches_the_labels(folder: Path) -> None:
    data = read_dataset(folder, name="g")
    patterns = read_patterns(folder)
    assert patterns is not None
    labels = data.transactions["label"].to_numpy(dtype=int)
    assert set(patterns["row"]) == set(np.flatnonzero(labels == 1))
    assert set(patterns["pattern"]) == set(PATTERNS)
    assert (patterns.groupby("pattern")["group"].nunique() >= 2).all()
    # The file is in time order, so a row is the transaction id after ingestion.
    assert data.transactions["ts"].is_monotonic_increasing


def _groups(folder: Path) -> dict[str, list[pd.DataFrame]]:
    data = read_dataset(folder, name="g")
    patterns = read_patterns(folder)
    assert patterns is not None
    txns = data.transactions
    out: dict[str, list[pd.DataFrame]] = {}
    for (name, _), rows in patterns.groupby(["pattern", "group"]):
        out.setdefault(str(name), []).append(txns.loc[rows["row"].to_numpy()])
    return out


def test_each_planted_pattern_has_its_shape(folder: Path) -> None:
    groups = _groups(folder)
    for g in groups["fan_out"]:
        assert g["src"].nunique() == 1 and g["dst"].nunique() >= 4
    for g in groups["fan_in"]:
        assert g["dst"].nunique() == 1 and g["src"].nunique() >= 4
    for g in groups["simple_cycle"]:
        edges = list(zip(g["src"], g["dst"], strict=True))
        nodes = set(g["src"])
        assert 3 <= len(nodes) <= 6 and nodes == set(g["dst"]) and len(edges) == len(nodes)
        following = dict(edges)  # each member pays exactly one next member; walking returns home
        start = here = edges[0][0]
        for _ in range(len(nodes)):
            here = following[here]
        assert here == start
    for g in groups["gather_scatter"]:
        hub = set(g["dst"]) & set(g["src"])
        assert len(hub) == 1
        h = hub.pop()
        assert g.loc[g["dst"] == h, "ts"].max() <= g.loc[g["src"] == h, "ts"].min()
    for g in groups["scatter_gather"]:
        assert g["src"].value_counts().max() >= 3 and g["dst"].value_counts().max() >= 3
    for g in groups["bipartite"]:
        assert not set(g["src"]) & set(g["dst"])
        assert len(g) == g["src"].nunique() * g["dst"].nunique()
    for g in groups["stack"]:
        middle = set(g["src"]) & set(g["dst"])
        assert len(middle) >= 2
    for g in groups["structuring"]:
        assert g["src"].nunique() == 1 and len(g) >= 5
        assert (
            (g["amount"] >= 0.9 * REPORTING_THRESHOLD) & (g["amount"] < REPORTING_THRESHOLD)
        ).all()
        assert set(g["currency"]) == {"US Dollar"}
    for name in PATTERNS:
        for g in groups[name]:
            assert g["ts"].max() - g["ts"].min() <= 8 * 86_400  # inside a window of days


def test_background_has_confounders(folder: Path) -> None:
    data = read_dataset(folder, name="g")
    clean = data.transactions[data.transactions["label"] == 0]
    # Merchants collect from many payers; payroll pays many employees on one day.
    assert clean.groupby("dst")["src"].nunique().max() >= 50
    daily = clean.assign(day=clean["ts"] // 86_400).groupby(["src", "day"])["dst"].nunique()
    assert daily.max() >= 10
    assert clean["payment_format"].nunique() >= 6 and clean["currency"].nunique() >= 3
    amounts = clean["amount"][clean["currency"] == "US Dollar"]
    assert amounts.quantile(0.999) > 20 * amounts.median()  # heavy tail


def test_too_few_transactions_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        generate(GeneratorConfig(accounts=100, days=5, transactions=20))
    with pytest.raises(ValueError, match="at least 50 accounts"):
        generate(GeneratorConfig(accounts=10, days=5))
