"""The tutor's evaluation: the generated symbolic suite, the step-check suite, the shipped GSM8K
copy and the shape of the GSM8K report, and `twincore eval tutor` refusing bad options."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.chat_transport import ChatEnd, ChatEvent, ChatRequest, TextDelta
from twincore.platform.evals.gsm8k import load_gsm8k
from twincore.platform.evals.local import read_rows
from twincore.platform.settings import Settings
from twincore.services.tutor import evals
from twincore.services.tutor.cli import eval_command
from twincore.services.tutor.evals import (
    SHIPPED_GSM8K,
    evaluate_symbolic,
    run_tutor_eval,
    summarise,
)
from twincore.services.tutor.solvers.suite import GENERATORS, PER_KIND, generate
from twincore.services.tutor.steps.stepcheck import evaluate_step_checks, load_step_checks


def test_generator_is_seeded_and_covers_every_type() -> None:
    first = [p.text for p in generate(3, per_kind=2)]
    assert first == [p.text for p in generate(3, per_kind=2)]
    assert first != [p.text for p in generate(4, per_kind=2)]
    assert PER_KIND * len(GENERATORS) >= 300  # the default suite, scored by `eval tutor`
    assert {p.kind for p in generate(3, per_kind=1)} == set(GENERATORS)


def test_seeded_sample_is_solved_with_every_step_verified() -> None:
    sample = list(itertools.islice(generate(seed=123), 30))
    report = evaluate_symbolic(sample)
    assert report["symbolic_failures"] == []
    assert report["symbolic_accuracy"] == 1.0


def test_a_wrong_expected_answer_counts_as_a_failure() -> None:
    (problem,) = itertools.islice(generate(seed=5), 1)
    wrong = type(problem)(problem.kind, problem.text, problem.expected.subs("x", "x + 1"))
    assert evaluate_symbolic([wrong])["symbolic_accuracy"] == 0.0


def test_shipped_step_check_suite_meets_the_bar() -> None:
    items = load_step_checks()
    assert len(items) >= 100
    assert {i.wrong_kind for i in items} >= {
        None,
        "not_equivalent",
        "lost_solution",
        "extraneous_root",
        "arithmetic_slip",
    }
    # A sample of every fourth item keeps this fast; `twincore eval tutor` scores them all.
    assert evaluate_step_checks(items[::4])["step_check_accuracy"] >= 0.95


def test_malformed_step_check_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "x = 1"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_step_checks(bad)


def test_the_shipped_gsm8k_copy_has_1000_problems_its_license_and_origin() -> None:
    problems = load_gsm8k(SHIPPED_GSM8K)
    assert len(problems) == 1000
    assert problems[0].gold == "72" and problems[0].question.startswith("Natalia")
    assert [p.line for p in load_gsm8k(SHIPPED_GSM8K, limit=3)] == [1, 2, 3]
    folder = SHIPPED_GSM8K.parent
    assert "MIT License" in (folder / "LICENSE-gsm8k").read_text(encoding="utf-8")
    assert "openai/grade-school-math" in (folder / "README.md").read_text(encoding="utf-8")


def test_the_gsm8k_report_has_overall_and_per_run_accuracy() -> None:
    problems = load_gsm8k(SHIPPED_GSM8K, limit=2)
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
    app = typer.Typer()
    app.command()(eval_command)
    runner = CliRunner()
    for args in (["--core", "big"], ["--mode", "guess"], ["--gsm8k", str(bad)], ["--part", "x"]):
        result = runner.invoke(app, ["--part", "gsm8k", *args, "--json"])
        assert result.exit_code == 2, result.output
    result = runner.invoke(app, ["--part", "gsm8k", "--gsm8k", str(bad)])
    assert "bad.jsonl, line 1" in result.output


class AnswerTransport:
    """A core that answers every direct-mode question with `Answer: 72`."""

    target = "fake"

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        yield TextDelta("Half of 48 is 24, and 48 + 24 = 72.\nAnswer: 72")
        yield ChatEnd("swift", "stop", None, {"core": "swift"})


def test_gsm8k_rows_stream_to_the_row_log_and_the_runs_are_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[list[str]] = []

    @asynccontextmanager
    async def fake_router(settings: Settings, names: list[str]) -> AsyncIterator[None]:
        built.append(list(names))  # one core at a time
        yield None

    def fake_models(router: None, service: str, names: list[str], hints: Any) -> dict[str, Any]:
        assert service == "tutor" and hints == {"domain": "math"}
        return {name: TwincoreChatModel(transport=AnswerTransport()) for name in names}

    monkeypatch.setattr(evals, "local_router", fake_router)
    monkeypatch.setattr(evals, "service_models", fake_models)
    settings = Settings(data_dir=tmp_path)
    options = evals.GsmOptions(cores=("swift", "deep"), modes=("direct",), limit=2)
    done: list[int] = []
    report = evals.run_tutor_eval(
        "gsm8k", 11, on_done=lambda: done.append(1), gsm8k=options, settings=settings
    )
    assert built == [["swift"], ["deep"]] and len(done) == 4
    assert report["gsm8k_accuracy_by_run"] == {"swift/direct": 0.5, "deep/direct": 0.5}
    rows = read_rows(Path(report["gsm8k_rows"]))
    assert sorted((r["run"], r["line"], r["answer"]) for r in rows) == [
        ("deep/direct", 1, "72"), ("deep/direct", 2, "72"),
        ("swift/direct", 1, "72"), ("swift/direct", 2, "72"),
    ]  # fmt: skip
    saved = json.loads(Path(report["gsm8k_details"]).read_text(encoding="utf-8"))
    assert saved["gsm8k_accuracy"] == 0.5 and "created_at" in saved
    assert saved["runs"]["swift/direct"]["answers"][0]["replies"][0].endswith("Answer: 72")
