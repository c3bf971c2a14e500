"""evaluate(): transaction-level metrics and per-typology recall on generated folders."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.services.aml.detect.detectors import PATTERNS
from twincore.services.aml.ingest.generator import GeneratorConfig, generate, write_generated


def test_eval_on_generated_folders_reports_per_typology_recall(tmp_path: Path) -> None:
    folders = [
        write_generated(
            generate(GeneratorConfig(accounts=300, days=8, seed=seed, min_instances=3)),
            tmp_path / f"g{seed}",
        )
        for seed in (11, 12)
    ]
    result = CliRunner().invoke(
        app, ["eval", "aml", "--train", str(folders[0]), "--test", str(folders[1]), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["level"] == "transaction"
    counts = report["counts"]
    assert counts["tp"] + counts["fn"] == counts["positives"] > 0
    assert counts["tp"] + counts["fp"] == counts["flagged"]
    assert sum(counts[k] for k in ("tp", "fp", "fn", "tn")) == counts["rows"]
    assert 0.0 <= report["precision"] <= 1.0 and 0.0 <= report["f1"] <= 1.0
    assert set(report["per_typology_recall"]) == set(PATTERNS)
    assert set(report["detector_recall"]) == set(PATTERNS)
    assert report["detector_recall"]["structuring"] > 0.5

    table = CliRunner().invoke(
        app, ["eval", "aml", "--train", str(folders[0]), "--test", str(folders[1])]
    )
    assert table.exit_code == 0, table.output
    assert "recall structuring" in table.output
