"""`twincore eval codegen` through the real sandbox: the problems' own solutions pass every
problem, empty bodies pass none (the harness can pass and fail), in all three languages; and
generation with a real core writes a report with pass@1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.services.codegen.harness.problems import load_problems, shipped_problems


def _eval(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["eval", "codegen", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_canonical_humaneval_passes_164_of_164_and_empty_passes_none() -> None:
    canonical = _eval("--problems", "humaneval", "--solutions", "canonical")
    assert canonical["problems"] == 164
    assert canonical["passed"] == 164 and canonical["pass_at_1"] == 1.0
    empty = _eval("--problems", "humaneval", "--solutions", "empty")
    assert empty["passed"] == 0 and empty["pass_at_1"] == 0.0
    assert "pass_at_10" not in empty  # one sample per problem: pass@10 is not computed
    assert len(empty["per_problem"]) == 164
    assert all(row["statuses"] == ["failed"] for row in empty["per_problem"])


@pytest.mark.parametrize("language", ["java", "cpp"])
def test_java_and_cpp_sets_pass_with_their_solutions_and_fail_empty(language: str) -> None:
    canonical = _eval("--problems", language, "--solutions", "canonical")
    assert canonical["problems"] >= 10 and canonical["pass_at_1"] == 1.0
    empty = _eval("--problems", language, "--solutions", "empty")
    assert empty["pass_at_1"] == 0.0
    assert empty["by_language"] == {language: {"problems": canonical["problems"], "pass_at_1": 0.0}}


def test_a_file_of_problems_and_bad_arguments(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in shipped_problems("humaneval").read_text().splitlines()]
    broken = {**rows[2], "canonical_solution": "    return 0.25\n"}  # wrong on purpose
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (rows[0], broken)) + "\n")
    assert len(load_problems(path)) == 2
    report = _eval("--problems", str(path), "--solutions", "canonical")
    assert [row["passed"] for row in report["per_problem"]] == [1, 0]
    assert report["per_problem"][1]["statuses"] == ["failed"]
    assert report["pass_at_1"] == 0.5
    bad = CliRunner().invoke(app, ["eval", "codegen", "--problems", "nowhere", "--json"])
    assert bad.exit_code == 2 and "no shipped problem set" in bad.output
    bad = CliRunner().invoke(app, ["eval", "codegen", "--solutions", "mine"])
    assert bad.exit_code == 2


def test_generation_with_a_real_core_reports_pass_at_1(
    monkeypatch: pytest.MonkeyPatch, session_data_dir: Path
) -> None:
    monkeypatch.setenv("TWINCORE_DATA_DIR", str(session_data_dir))
    monkeypatch.setenv("TWINCORE_CORES__SWIFT__MODEL", "smollm2-135m-instruct")
    report = _eval("--problems", "humaneval", "--limit", "2", "--model", "swift")
    assert report["problems"] == 2 and report["solutions"] == "generate"
    assert 0.0 <= report["pass_at_1"] <= 1.0
    assert report["pass_at_1"] == sum(r["passed"] for r in report["per_problem"]) / 2
    assert all(row["completion_tokens"] > 0 for row in report["per_problem"])
    saved = session_data_dir / "evals" / "codegen-humaneval-generate-swift.json"
    assert saved.is_file()
    again = _eval("--problems", "humaneval", "--limit", "2", "--rescore", str(saved))
    assert [r["passed"] for r in again["per_problem"]] == [
        r["passed"] for r in report["per_problem"]
    ]
    assert again["rescored"] == str(saved)
