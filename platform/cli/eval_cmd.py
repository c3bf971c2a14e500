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
    per_service: Annotated[
        int, typer.Option(min=0, help="items per service workload; 0: every shipped item")
    ] = 20,
    services: Annotated[
        list[str] | None, typer.Option("--service", help="only these services (repeatable)")
    ] = None,
    split: Annotated[
        str, typer.Option(help="which half to report on: report, calibration or all")
    ] = "report",
    answers: Annotated[
        Path | None,
        typer.Option(help="re-score the answers an earlier run recorded (no generation)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Answer every service's workload on both cores (one attempt each, the service's own
    checker); compare always-swift, always-deep, random at matched cost, the router, a
    checker-driven cascade and router+escalation on the report split; report APGR."""
    from twincore.platform.evals.runner import load_items, run, save_report

    settings = load_settings()
    if answers is not None and not answers.is_file():
        fail(f"no recorded answers at {answers}", code=2)
    try:
        total = 0 if answers else 2 * len(load_items(per_service or None, services))
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task("answering (each service: swift, then deep)", total=total)
            report = run(
                settings,
                per_service=per_service or None,
                services=services,
                split=split,
                on_answer=lambda _answer: progress.advance(bar),
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
    by_service = Table("service", "items", "swift", "deep", "best", "quality/deep", "cost/deep",
                       "beats random")  # fmt: skip
    for name, row in report["services"].items():
        named = row["strategies"]
        by_service.add_row(
            name,
            str(row["items"]),
            f"{named['always-swift']['quality']:.3f}",
            f"{named['always-deep']['quality']:.3f}",
            row["best"],
            str(row["quality_vs_deep"]),
            str(row["cost_vs_deep"]),
            "yes" if row["router_beats_random"] else "no",
        )
    console.print(by_service)
    console.print(
        f"APGR {report['apgr']}  router beats random: {report['router_beats_random']}  "
        f"deep share for 50%/80% of the gain: {report.get('deep_share_for_50')}/"
        f"{report.get('deep_share_for_80')}  split {report['split']} ({report['items']} items)"
        f"\nsaved to {path}"
    )


def structured(
    core: Annotated[str, typer.Option(help="swift, deep or both")] = "both",
    objects: Annotated[int, typer.Option(min=1, max=2000, help="objects per core")] = 200,
    json_output: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Generate objects under JSON-schema constraints (8 schemas: nested objects, arrays,
    enums, ranges, formats) on each core and count how many validate (`jsonschema`)."""
    import asyncio

    from twincore.platform.evals.local import core_names, save_report
    from twincore.platform.evals.structured import run_structured

    settings = load_settings()
    try:
        names = core_names(core)
    except ValueError as error:
        fail(str(error), code=2)
        return
    from twincore.platform.errors import TwincoreError

    try:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task("generating objects", total=objects * len(names))
            report = asyncio.run(
                run_structured(settings, names, objects, lambda _o: progress.advance(bar))
            )
    except (ValueError, TwincoreError) as error:
        fail(str(error), code=2)
        return
    path = save_report(settings, "platform", "structured", report)
    if json_output:
        print_json(report)
        return
    for name, result in report["cores"].items():
        console.print(
            f"{name}: {result['valid']}/{result['objects']} valid "
            f"({100 * result['valid_rate']:.1f}%), finish {result['finish_reasons']}"
        )
    console.print(f"[dim]report -> {path}[/dim]")
