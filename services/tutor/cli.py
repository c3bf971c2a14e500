"""`twincore eval tutor`: symbolic, step-check and GSM8K accuracy (a command, not a test)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail, print_json
from twincore.platform.evals.local import core_names


def eval_command(
    part: Annotated[str, typer.Option(help="symbolic, step-check, gsm8k or all")] = "all",
    seed: Annotated[int, typer.Option(help="seed of the generated symbolic suite")] = 11,
    gsm8k: Annotated[
        Path | None, typer.Option("--gsm8k", help="GSM8K-format JSONL; default: the shipped file")
    ] = None,
    core: Annotated[str, typer.Option(help="GSM8K cores: swift, deep or both")] = "both",
    mode: Annotated[str, typer.Option(help="GSM8K modes: pal, direct or both")] = "both",
    limit: Annotated[int, typer.Option(min=0, help="first N GSM8K problems; 0: all")] = 10,
    candidates: Annotated[int, typer.Option(min=1, max=8, help="GSM8K votes per problem")] = 1,
    cascade: Annotated[
        bool,
        typer.Option(help="GSM8K through the checked cascade (more candidates when rejected)"),
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Tutor: symbolic_accuracy on the generated suite (every step verified),
    step_check_accuracy (first wrong step) on the shipped step-check suite, and
    gsm8k_accuracy (overall and per core/mode, program-aided vs direct) on GSM8K, through
    the service's checked cascade unless --no-cascade."""
    from twincore.services.tutor.evals import PARTS, GsmOptions, run_tutor_eval

    if part not in PARTS:
        fail(f"--part must be one of {', '.join(PARTS)}, not {part!r}", code=2)
    if core not in ("swift", "deep", "both") or mode not in ("pal", "direct", "both"):
        fail("--core must be swift, deep or both; --mode pal, direct or both", code=2)
    if gsm8k is not None and not gsm8k.is_file():
        fail(f"no GSM8K file at {gsm8k}", code=2)
    options = GsmOptions(
        path=gsm8k,
        cores=core_names(core),
        modes=("pal", "direct") if mode == "both" else (mode,),  # type: ignore[arg-type]
        limit=limit or None,
        candidates=candidates,
        cascade=cascade,
    )
    needs_cores = part in ("gsm8k", "all")
    try:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task(f"tutor eval ({part})", total=None)
            report = run_tutor_eval(
                part,
                seed,
                on_total=lambda total: progress.update(bar, total=total),
                on_done=lambda: progress.advance(bar),
                gsm8k=options,
                settings=load_settings() if needs_cores else None,
            )
    except ValueError as error:  # a malformed GSM8K file, with its line and reason
        fail(str(error), code=2)
        return
    if json_output:
        print_json(report)
        return
    table = Table("metric", "value", title=f"tutor eval ({part})")
    for key, value in report.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
        elif isinstance(value, int):
            table.add_row(key, str(value))
    for name, accuracy in report.get("gsm8k_accuracy_by_run", {}).items():
        table.add_row(f"gsm8k_accuracy {name}", f"{accuracy:.4f}")
    for name, run in report.get("gsm8k_runs", {}).items():
        if "verified" in run:
            table.add_row(f"gsm8k_verified {name}", f"{run['verified']}/{run['problems']}")
            table.add_row(f"gsm8k_escalated {name}", f"{run['escalated']}/{run['problems']}")
    console.print(table)
    for failure in report.get("symbolic_failures", []) + report.get("step_check_failures", []):
        console.print(f"[red]failed[/red] {failure}")
    if "gsm8k_details" in report:
        console.print(f"GSM8K rows: {report['gsm8k_rows']}; every reply: {report['gsm8k_details']}")
