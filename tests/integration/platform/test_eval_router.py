"""`twincore eval router` and `twincore router fit` end to end on real cores (SmolLM2 as both,
one item of every service's workload)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.platform.evals.workloads import split_of
from twincore.platform.router.rules import load_policy

SMOL = "smollm2-135m-instruct"
SERVICES = {"aml", "codegen", "support", "tutor", "writing"}


def test_eval_router_covers_every_service_and_fit_writes_a_policy(
    session_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINCORE_DATA_DIR", str(session_data_dir))
    monkeypatch.setenv("TWINCORE_CORES__DEEP__MODEL", SMOL)  # the 1.5B model stays out of CI
    monkeypatch.setenv("TWINCORE_CORES__SWIFT__MODEL", SMOL)
    cli = CliRunner()
    result = cli.invoke(app, ["eval", "router", "--per-service", "1", "--split", "all", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == "all" and report["items"] == 5
    assert set(report["services"]) == SERVICES
    names = [s["name"] for s in report["strategies"]]
    assert {"always-swift", "always-deep", "router", "cascade", "router+escalation"} <= set(names)
    assert "random (matched cost)" in names
    for strategy in report["strategies"]:
        assert 0.0 <= strategy["quality"] <= 1.0 and strategy["cost"] >= 0
        assert 0.0 <= strategy["deep_share"] <= 1.0
    assert isinstance(report["router_beats_random"], bool)
    assert "apgr" in report and len(report["curve"]) == 21
    assert report["policy_version"]
    assert report["cores"]["swift"] == SMOL
    saved = json.loads((session_data_dir / "evals" / "router.json").read_text())
    assert saved == report

    # Re-scoring the recorded answers on one split generates nothing and counts its half only.
    recorded = session_data_dir / "evals" / "router-answers.jsonl"
    lines = [json.loads(line) for line in recorded.read_text().splitlines()]
    assert len(lines) == 10 and {line["service"] for line in lines} == SERVICES
    ids = {line["item_id"] for line in lines}
    halves = {split: sum(split_of(i) == split for i in ids) for split in ("calibration", "report")}
    for split, count in halves.items():
        again = cli.invoke(app, ["eval", "router", "--per-service", "1", "--split", split,
                                 "--answers", str(recorded), "--json"])  # fmt: skip
        if count:
            assert again.exit_code == 0, again.output
            assert json.loads(again.stdout)["items"] == count
        else:
            assert again.exit_code == 2 and "no items fall" in again.output
    more = cli.invoke(app, ["eval", "router", "--per-service", "2", "--answers", str(recorded)])
    assert more.exit_code == 2 and "has no answers for" in more.output

    # The fit reads the calibration half and writes a policy that loads, with its provenance.
    fitted = tmp_path / "fitted.yaml"
    fit = cli.invoke(app, ["router", "fit", "--per-service", "1", "--answers", str(recorded),
                           "--output", str(fitted), "--json"])  # fmt: skip
    if halves["calibration"] == 0:
        assert fit.exit_code == 2 and "no calibration items" in fit.output
        return
    assert fit.exit_code == 0, fit.output
    policy = load_policy(fitted)
    assert policy.provenance["answers"] == str(recorded)
    assert sum(policy.provenance["calibration_items"].values()) == halves["calibration"]  # type: ignore[union-attr]
    assert yaml.safe_load(fitted.read_text())["deep_threshold"] == policy.deep_threshold
    missing = cli.invoke(app, ["router", "fit", "--answers", str(tmp_path / "nowhere.jsonl")])
    assert missing.exit_code == 2 and "no recorded answers" in missing.output
