"""`twincore eval router` end to end on real cores (SmolLM2 as both, one task per group)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twincore.platform.cli.main import app

SMOL = "smollm2-135m-instruct"


def test_eval_router_reports_strategies_and_saves_them(
    session_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINCORE_DATA_DIR", str(session_data_dir))
    monkeypatch.setenv("TWINCORE_CORES__DEEP__MODEL", SMOL)  # the 1.5B model stays out of CI
    monkeypatch.setenv("TWINCORE_CORES__SWIFT__MODEL", SMOL)
    result = CliRunner().invoke(app, ["eval", "router", "--per-group", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tasks"] == 4 and set(report["groups"]) == {
        "math-easy",
        "math-hard",
        "code-easy",
        "code-hard",
    }
    names = [s["name"] for s in report["strategies"]]
    assert {"always-swift", "always-deep", "router", "random (router's cost)", "cascade"} <= set(
        names
    )
    for strategy in report["strategies"]:
        assert 0.0 <= strategy["quality"] <= 1.0 and strategy["cost"] > 0
        assert 0.0 <= strategy["deep_share"] <= 1.0
    assert isinstance(report["router_beats_random"], bool)
    assert "apgr" in report and len(report["curve"]) == 21
    assert report["cores"] == {"deep": SMOL, "swift": SMOL}
    saved = json.loads((session_data_dir / "evals" / "router.json").read_text())
    assert saved == report

    # The recorded answers score again without generating: same strategies, same numbers.
    recorded = session_data_dir / "evals" / "router-answers.jsonl"
    assert len(recorded.read_text().splitlines()) == 8  # 4 tasks x 2 cores
    again = CliRunner().invoke(
        app, ["eval", "router", "--per-group", "1", "--answers", str(recorded), "--json"]
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["strategies"] == report["strategies"]
    more = CliRunner().invoke(
        app, ["eval", "router", "--per-group", "2", "--answers", str(recorded)]
    )
    assert more.exit_code == 2 and "has no answers for" in more.output
    missing = CliRunner().invoke(app, ["eval", "router", "--answers", "nowhere.jsonl"])
    assert missing.exit_code == 2 and "no recorded answers" in missing.output
