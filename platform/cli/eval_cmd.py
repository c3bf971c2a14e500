"""`twincore eval ...`: evaluations on the default weights (commands, not tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json


def router(
    per_group: Annotated[
        int, typer.Option(min=0, help="tasks per group (math/code, easy/hard); 0: all shipped")
    ] = 20,
    seed: Annotated[int, typer.Option(help="which tasks a smaller run picks")] = 0,
    answers: Annotated[
        Path | None,
        typer.Option(help="re-score the answers an earlier run recorded (no generation)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Answer verifiable math and code tasks on both cores; compare always-swift, always-deep,
    random at matched cost, the router over deep thresholds and a cascade; report APGR."""
    from twincore.platform.evals.runner import run, save_report
    from twincore.platform.evals.tasks import load_workload

    settings = load_settings()
    if answers is not None and not answers.is_file():
        fail(f"no recorded answers at {answers}", code=2)
    total = 0 if answers else 2 * len(load_workload(per_group=per_group or None, seed=seed))
    try:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task("answering (swift, then deep)", total=total)
            report = run(
                settings,
                per_group=per_group or None,
                seed=seed,
                on_answer=lambda core: progress.advance(bar),
                recorded=answers,
            )
    except ValueError as error:
        fail(str(error), code=2)
        return
    path = save_report(settings, report)
    if json_output:
        print_json(report)
        return
    table = Table("strategy", "quality", "cost", "deep share", "wall s")
    for s in report["strategies"]:
        table.add_row(
            s["name"],
            f"{s['quality']:.3f}",
            f"{s['cost']:.2f}",
            f"{s['deep_share']:.2f}",
            f"{s['wall_s']:.1f}",
        )
    console.print(table)
    console.print(
        f"APGR {report['apgr']}  router beats random: {report['router_beats_random']}  "
        f"deep share for 50%/80% of the gain: {report.get('deep_share_for_50')}/"
        f"{report.get('deep_share_for_80')}\nsaved to {path}"
    )
