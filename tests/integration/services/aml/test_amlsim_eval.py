"""Cross-sample evaluation on the packaged AMLSim samples, through `twincore eval aml --json`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.services.aml.ingest.samples import sample_dir


def test_cycle_trained_model_finds_fan_in_laundering_accounts() -> None:
    train, test = sample_dir("20K_cycle200"), sample_dir("20K_fanin200")
    result = CliRunner().invoke(
        app, ["eval", "aml", "--train", str(train), "--test", str(test), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["level"] == "account"
    assert report["train"] == ["20K_cycle200"] and report["test"] == "20K_fanin200"
    assert report["counts"]["positives"] == 954  # isFraud accounts of the fan-in sample
    # Measured 0.81 (P 0.96, R 0.70); the goal is 0.8 at the threshold chosen on training data.
    assert report["f1"] >= 0.8, report
    assert report["precision"] >= 0.9
    assert set(report["per_typology_recall"]) == {"fan_in"}
    assert report["per_typology_recall"]["fan_in"] == report["recall"]


def test_eval_refuses_a_missing_folder() -> None:
    result = CliRunner().invoke(
        app, ["eval", "aml", "--train", "/no/such/dir", "--test", "/no/such/dir", "--json"]
    )
    assert result.exit_code == 2
    assert "no such file" in result.output
