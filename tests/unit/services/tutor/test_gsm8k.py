"""GSM8K files (the shipped copy, gold after `####`, malformed files refused with the line) and
the shape of the evaluation's report."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.services.tutor.evaluation import run_tutor_eval
from twincore.services.tutor.gsm8k import gold_answer, load_gsm8k, shipped_path
from twincore.services.tutor.gsm8k_eval import summarise


def test_gold_is_the_normalised_number_after_the_last_marker() -> None:
    assert gold_answer("48/2 = <<48/2=24>>24\n#### 72") == "72"
    assert gold_answer("... #### 1,234") == "1234"
    with pytest.raises(ValueError, match="####"):
        gold_answer("72")
    with pytest.raises(ValueError, match="no number"):
        gold_answer("#### none")


def test_the_shipped_copy_has_1000_problems_its_license_and_origin() -> None:
    problems = load_gsm8k(limit=None)
    assert len(problems) == 1000
    assert problems[0].gold == "72" and problems[0].question.startswith("Natalia")
    assert [p.line for p in load_gsm8k(limit=3)] == [1, 2, 3]
    folder = shipped_path().parent
    assert "MIT License" in (folder / "LICENSE-gsm8k").read_text(encoding="utf-8")
    assert "openai/grade-school-math" in (folder / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "line 2"),
        ('{"question": "", "answer": "#### 1"}', "question"),
        ('{"question": "q", "answer": 5}', "answer"),
        ('{"question": "q", "answer": "no marker"}', "####"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_a_malformed_file_is_refused_with_its_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "q", "answer": "#### 1"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as caught:
        load_gsm8k(path)
    assert "bad.jsonl, line 2" in str(caught.value)


def test_missing_and_empty_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no GSM8K file"):
        load_gsm8k(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no problems"):
        load_gsm8k(tmp_path / "empty.jsonl")


def test_the_report_has_overall_and_per_run_accuracy() -> None:
    problems = load_gsm8k(limit=2)
    runs = {
        "deep/pal": {"problems": 2, "correct": 2, "accuracy": 1.0, "answers": [
            {"answer": "72"}, {"answer": "10"}]},
        "deep/direct": {"problems": 2, "correct": 1, "accuracy": 0.5, "answers": [
            {"answer": "72"}, {"answer": None}]},
    }  # fmt: skip
    report = summarise(runs, problems, candidates=1)
    assert report["gsm8k_accuracy"] == 0.75
    assert report["gsm8k_accuracy_by_run"] == {"deep/pal": 1.0, "deep/direct": 0.5}
    assert "answers" not in report["gsm8k_runs"]["deep/pal"]
    assert report["gsm8k_per_problem"][1] == {
        "line": 2, "gold": "10", "deep/pal": "10", "deep/direct": None
    }  # fmt: skip


def test_gsm8k_needs_the_settings_and_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="settings"):
        run_tutor_eval("gsm8k", 11)
    with pytest.raises(ValueError, match="part"):
        run_tutor_eval("everything", 11)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n', encoding="utf-8")
    runner = CliRunner()
    for args in (["--core", "big"], ["--mode", "guess"], ["--gsm8k", str(bad)], ["--part", "x"]):
        result = runner.invoke(app, ["eval", "tutor", "--part", "gsm8k", *args, "--json"])
        assert result.exit_code == 2, result.output
    result = runner.invoke(app, ["eval", "tutor", "--part", "gsm8k", "--gsm8k", str(bad)])
    assert "bad.jsonl, line 1" in result.output
