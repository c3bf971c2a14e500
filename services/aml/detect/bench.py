"""`twincore bench aml`: end-to-end time and memory of ingest + detection + scoring.

Generates an AMLworld-style dataset of N transactions (accounts = N / 50, seeded) and writes it
as CSV (not timed), then times: parse + validate the CSV, store it into a fresh SQLite file in a
temporary folder, and `pipeline.detect` (features, detectors, scoring, alerts). Scoring uses a
model trained on a separate, smaller generated set (not timed) unless told to use the rules or a
given model artifact. Peak memory is the process's maximum RSS (children included), so it also
covers generation and training.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twincore.platform.db import create_db_engine
from twincore.platform.db.migrate import upgrade
from twincore.services.aml.ingest.formats import read_dataset
from twincore.services.aml.ingest.generator import GeneratorConfig, generate, write_generated
from twincore.services.aml.store import store_dataset

TRANSACTIONS_PER_ACCOUNT = 50
BENCH_DAYS = 60


@dataclass(frozen=True)
class AmlBench:
    """What to measure."""

    transactions: int = 1_000_000
    seed: int = 0
    train_transactions: int = 100_000
    """Size of the separate training set; 0 = score with the detectors' rule score."""
    model_dir: Path | None = None
    """Use this trained artifact instead of training one."""
    budget: int = 100


def peak_rss_mb() -> float:
    """Maximum resident set size so far of this process and of its waited-for children (MB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # Linux reports KiB


def _config(transactions: int, seed: int) -> GeneratorConfig:
    accounts = max(50, transactions // TRANSACTIONS_PER_ACCOUNT)
    return GeneratorConfig(accounts=accounts, days=BENCH_DAYS, seed=seed, transactions=transactions)


def bench_aml(bench: AmlBench, on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the JSON report. `on_stage(text)` hears each stage start."""
    stage = on_stage or (lambda _text: None)
    from twincore.services.aml.detect.classifier import RiskModel
    from twincore.services.aml.detect.pipeline import detect
    from twincore.services.aml.detect.training import train_on_datasets

    with tempfile.TemporaryDirectory(prefix="twincore-bench-aml-") as tmp:
        folder = Path(tmp)
        stage(f"generating {bench.transactions:,} transactions (not timed)")
        started = time.perf_counter()
        config = _config(bench.transactions, bench.seed)
        write_generated(generate(config), folder / "test")
        generate_s = time.perf_counter() - started

        model: RiskModel | None = None
        train_s = 0.0
        if bench.model_dir is not None:
            model = RiskModel.load(bench.model_dir)
        elif bench.train_transactions > 0:
            stage(f"training on {bench.train_transactions:,} generated transactions (not timed)")
            started = time.perf_counter()
            train_config = _config(bench.train_transactions, bench.seed + 1)
            train_set = generate(train_config)
            write_generated(train_set, folder / "train")
            del train_set
            model = train_on_datasets([read_dataset(folder / "train", name="train")])
            train_s = time.perf_counter() - started

        url = f"sqlite:///{folder / 'bench.db'}"
        upgrade(url)
        engine = create_db_engine(url)
        try:
            stage("ingest: parsing and validating the CSV")
            started = time.perf_counter()
            dataset = read_dataset(folder / "test", name="bench")
            parse_s = time.perf_counter() - started
            stage("ingest: storing into SQLite")
            started = time.perf_counter()
            store_dataset(engine, dataset)
            store_s = time.perf_counter() - started
        finally:
            engine.dispose()
        stage("detecting and scoring")
        started = time.perf_counter()
        detection = detect(dataset, model, budget=bench.budget)
        detect_s = time.perf_counter() - started

    total = parse_s + store_s + detect_s
    return {
        "seconds": round(total, 2),
        "transactions": dataset.n_transactions,
        "accounts": dataset.n_accounts,
        "peak_rss_mb": peak_rss_mb(),
        "goal": {"seconds": 120, "peak_rss_mb": 4096},
        "within_goal": total < 120 and peak_rss_mb() < 4096,
        "stages": {
            "ingest_parse_validate": round(parse_s, 2),
            "ingest_store_sqlite": round(store_s, 2),
            "ingest": round(parse_s + store_s, 2),
            "detect": round(detect_s, 2),
            "detect_parts": detection.stats.get("seconds", {}),
        },
        "untimed": {"generate_and_write": round(generate_s, 2), "train": round(train_s, 2)},
        "scorer": detection.scorer,
        "level": detection.level,
        "alerts": len(detection.alerts),
        "pattern_hits": len(detection.hits),
        "flagged": detection.stats.get("flagged"),
        "seed": bench.seed,
    }
