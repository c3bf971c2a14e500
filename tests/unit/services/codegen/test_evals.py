"""`eval codegen` without a model: each problem's row is streamed to the RowLog as it is checked,
the report is saved beside it, and `--rescore` takes a report or an interrupted run's rows."""

from __future__ import annotations

import json
from pathlib import Path

from twincore.platform.evals.local import read_rows
from twincore.platform.settings import Settings
from twincore.services.codegen.evals import evaluate, recorded_code, report_name, resolve_problems


def test_rows_stream_as_problems_finish_and_the_report_is_saved(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    problems = resolve_problems("humaneval", limit=2)
    done: list[int] = []
    name = report_name("humaneval", "canonical", "deep", rescored=False)
    assert name == "humaneval-canonical"
    report, path = evaluate(
        settings,
        problems,
        name=name,
        solutions="canonical",
        on_done=lambda: done.append(1),
    )
    assert path == tmp_path / "evals" / "codegen-humaneval-canonical.json"
    assert json.loads(path.read_text())["pass_at_1"] == report["pass_at_1"] == 1.0
    assert "created_at" in report and len(done) == 2
    rows = read_rows(tmp_path / "evals" / "codegen-humaneval-canonical.rows.jsonl")
    assert sorted(r["task_id"] for r in rows) == [p.task_id for p in problems]
    assert all(r["passed"] == 1 and "code" not in r for r in rows)


def test_rescore_takes_the_rows_of_an_interrupted_run(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    problems = resolve_problems("humaneval", limit=2)
    body = problems[0].prompt + problems[0].canonical_solution
    rows = tmp_path / "codegen-humaneval-generate-deep.rows.jsonl"
    lines = [
        {"task_id": problems[0].task_id, "code": [body, "def nothing(): pass\n"]},
        {"task_id": problems[1].task_id, "code": ["raise SystemExit(1)\n"]},
    ]
    rows.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"torn')
    codes, model = recorded_code(rows)
    assert model is None and list(codes) == [p.task_id for p in problems]
    report, path = evaluate(
        settings,
        problems,
        name=report_name("humaneval", "generate", "deep", rescored=True),
        solutions="generate",
        ks=(1, 2),
        recorded=rows,
    )
    assert path.name == "codegen-humaneval-generate-deep-rescored.json"
    assert [r["passed"] for r in report["per_problem"]] == [1, 0]
    assert report["samples"] == 1 and "pass_at_2" not in report  # the fewest samples decide
    assert report["rescored"] == str(rows)
