"""`twincore eval support`: text-to-Cypher execution accuracy on Northwind questions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json
from twincore.services.support.northwind import DATA_DIR

DEFAULT_QUESTIONS = DATA_DIR / "text2cypher_dev.csv"


def support(
    questions: Annotated[
        Path, typer.Option(help="CSV with question, cypher (reference) and optional type columns")
    ] = DEFAULT_QUESTIONS,
    core: Annotated[str, typer.Option(help="swift | deep | both")] = "swift",
    limit: Annotated[
        int, typer.Option(min=0, help="first N executable questions only; 0: all")
    ] = 0,
    attempts: Annotated[int, typer.Option(min=1, help="tries per question (error fed back)")] = 3,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Run each reference query and each core's query (guard, LIMIT, timeout, retries) on a
    fresh Northwind graph; report execution accuracy, executable questions, valid-query rate
    and accuracy per question type, per core."""
    from twincore.services.support.evaluation import load_questions
    from twincore.services.support.evaluation_run import run_support_eval, save_report

    if core not in ("swift", "deep", "both"):
        fail(f"--core must be swift, deep or both, not {core!r}", code=2)
    if not questions.is_file():
        fail(f"no questions file at {questions}", code=2)
    try:
        loaded = load_questions(questions)
    except (ValueError, KeyError) as error:
        fail(str(error), code=2)
        return
    settings = load_settings()
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task(f"support eval ({core})", total=None)
        report = run_support_eval(
            settings,
            loaded,
            core=core,
            limit=limit or None,
            max_attempts=attempts,
            on_total=lambda total: progress.update(bar, total=total),
            on_done=lambda: progress.advance(bar),
        )
    suffix = f"-limit{limit}" if limit else ""
    path = save_report(settings, f"{questions.stem}-{core}{suffix}", report)
    if json_output:
        print_json(report)
        return
    table = Table("core", "type", "questions", "correct", "accuracy")
    for name, data in report["per_core"].items():
        for kind, row in data["per_type"].items():
            table.add_row(
                name, kind, str(row["questions"]), str(row["correct"]), f"{row['accuracy']:.3f}"
            )
        table.add_row(
            name,
            "[bold]all[/bold]",
            str(data["questions"]),
            str(data["correct"]),
            f"{data['execution_accuracy']:.3f}",
        )
    console.print(table)
    per_core = "  ".join(
        f"{name}: accuracy {d['execution_accuracy']:.3f} valid {d['valid_query_rate']:.3f}"
        for name, d in report["per_core"].items()
    )
    console.print(
        f"{report['questions']} questions, {report['executable_questions']} executable "
        f"({report['reference_errors']} reference errors, {report['reference_empty']} empty)\n"
        f"{per_core}\nsaved to {path}"
    )
