"""`twincore bench fuzz`: schemathesis against every route of the platform's OpenAPI document."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from twincore.platform.cli.output import console, print_json

if TYPE_CHECKING:
    from twincore.platform.bench_fuzz import FuzzReport


def fuzz(
    examples: Annotated[
        int, typer.Option(min=1, max=1000, help="valid and invalid cases per operation, each")
    ] = 25,
    url: Annotated[
        str | None,
        typer.Option(help="a running platform (default: a fresh one in this process, no model)"),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="TWINCORE_API_KEY", help="key for a platform that asks")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="seconds a request may take (model routes generate)")
    ] = 60.0,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Generated requests to every operation (and generated AML dataset files to the upload):
    counts server errors (5xx other than a deliberate 503), answers that break their own
    response schema and requests unanswered after --timeout, per operation. Exits 1 when it
    finds any."""
    from twincore.platform.bench_fuzz import fuzz, in_process_platform

    platform: AbstractContextManager[str] = (
        nullcontext(url.rstrip("/")) if url else in_process_platform()
    )
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    # Failing core calls are expected here (nobody answers for the in-process cores): keep the
    # log to errors so the report stays readable.
    logging.getLogger("twincore").setLevel(logging.ERROR)
    with console.status("fuzzing every operation ..."), platform as base:
        report = fuzz(base, examples=examples, headers=headers, timeout_s=timeout)
    if json_output:
        print_json(report.to_json())
    else:
        _print_table(report)
    if report.server_errors or report.schema_failures or report.timeouts:
        raise typer.Exit(1)


def _print_table(report: FuzzReport) -> None:
    table = Table("operation", "requests", "5xx", "schema", "timeouts", "statuses", "s")
    for name, op in report.operations.items():
        statuses = " ".join(f"{code}:{n}" for code, n in sorted(op.statuses.items()))
        table.add_row(
            name, str(op.requests), str(op.server_errors), str(op.schema_failures),
            str(op.timeouts), statuses,
            f"{op.seconds:.1f}",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"{report.requests} requests, {report.server_errors} server errors, "
        f"{report.schema_failures} schema failures, {report.timeouts} timeouts"
    )
    for name, op in report.operations.items():
        for sample in op.samples:
            console.print(f"[red]{name}[/red] {sample}", markup=True, highlight=False)
