"""The codegen command line: `twincore eval codegen`, pass@k through the sandbox (a command,
not a test)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json

if TYPE_CHECKING:
    from twincore.services.codegen.harness.checks import Solutions


def eval_command(
    problems: Annotated[
        str, typer.Option(help="HumanEval-format JSONL, or a shipped set: humaneval, java, cpp")
    ] = "humaneval",
    samples: Annotated[int, typer.Option(min=1, help="candidates per problem (n)")] = 1,
    k: Annotated[str, typer.Option(help="comma-separated k of pass@k")] = "1,10",
    solutions: Annotated[
        str, typer.Option(help="generate | canonical | empty (the problems' own solutions)")
    ] = "generate",
    model: Annotated[str, typer.Option(help="deep | swift | auto")] = "deep",
    rounds: Annotated[int, typer.Option(min=0, help="repair rounds from the sandbox log")] = 0,
    limit: Annotated[int, typer.Option(min=0, help="first N problems only; 0: all")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="sandbox runs at once")] = 2,
    rescore: Annotated[
        Path | None, typer.Option(help="check the code an earlier report recorded (no model)")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """pass@k of generated code (or of the problems' own solutions) through the sandbox."""
    from twincore.services.codegen.evals import evaluate, report_name, resolve_problems

    if solutions not in ("generate", "canonical", "empty"):
        fail(f"--solutions must be generate, canonical or empty, not {solutions!r}", code=2)
    if rescore is not None and not rescore.is_file():
        fail(f"no report at {rescore}", code=2)
    try:
        ks = sorted({int(part) for part in k.split(",") if part.strip()})
        loaded = resolve_problems(problems, limit or None)
    except ValueError as error:
        fail(str(error), code=2)
        return
    settings = load_settings()
    which: Solutions = solutions  # type: ignore[assignment]
    try:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task(f"codegen ({solutions})", total=len(loaded))
            report, path = evaluate(
                settings,
                loaded,
                name=report_name(problems, which, model, rescored=rescore is not None),
                solutions=which,
                samples=samples,
                ks=ks,
                model=model,
                rounds=rounds,
                workers=workers,
                on_done=lambda: progress.advance(bar),
                recorded=rescore,
            )
    except ValueError as error:
        fail(str(error), code=2)
        return
    if json_output:
        print_json(report)
        return
    table = Table("task", "language", "passed", "statuses", "reason")
    for row in report["per_problem"]:
        table.add_row(
            row["task_id"],
            row["language"],
            f"{row['passed']}/{row['samples']}",
            ",".join(row["statuses"]),
            row["reason"][:60],
        )
    console.print(table)
    scores = "  ".join(f"{key} {v}" for key, v in report.items() if key.startswith("pass_at_"))
    console.print(
        f"{report['problems']} problems  {scores}  wall {report['wall_s']}s\nsaved to {path}"
    )
