"""`twincore aml train`: trains on a generated folder, saves the artifact, refuses bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.services.aml.detect.classifier import RiskModel
from twincore.services.aml.ingest.generator import GeneratorConfig, generate, write_generated


def test_train_writes_a_loadable_transaction_model(tmp_path: Path) -> None:
    folder = write_generated(
        generate(GeneratorConfig(accounts=400, days=10, seed=5)), tmp_path / "g"
    )
    out = tmp_path / "model"
    result = CliRunner().invoke(
        app, ["aml", "train", "--data", str(folder), "--output", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["level"] == "transaction"
    assert summary["trained_on"] == ["g"]
    assert summary["positives"] > 0
    model = RiskModel.load(out)
    assert model.level == "transaction"
    assert model.metadata["detector"]["window_seconds"] == 7 * 86400
    assert model.version.startswith("v1:transaction:g")


def test_train_defaults_to_the_data_dir(tmp_path: Path) -> None:
    folder = write_generated(
        generate(GeneratorConfig(accounts=300, days=8, seed=6)), tmp_path / "g"
    )
    result = CliRunner().invoke(
        app,
        ["aml", "train", "--data", str(folder), "--level", "account"],
        env={"TWINCORE_DATA_DIR": str(tmp_path / "var")},
    )
    assert result.exit_code == 0, result.output
    assert RiskModel.load(tmp_path / "var" / "aml" / "model").level == "account"


def test_train_refuses_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,known,header\n1,2,3,4\n")
    result = CliRunner().invoke(app, ["aml", "train", "--data", str(bad)])
    assert result.exit_code == 2
    assert "unknown format" in result.output
    result = CliRunner().invoke(app, ["aml", "train", "--data", str(bad), "--level", "daily"])
    assert result.exit_code == 2
    assert "--level" in result.output
