"""`twincore doctor`: checks this machine for what the platform needs and says what to fix."""

from __future__ import annotations

from typing import Annotated

import typer

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, print_json
from twincore.platform.doctor import Check, as_json, run_checks

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor(
    as_json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check Python, sandbox tools, memory, disk, port, database, graph, weights and Ray;
    exit 1 when a check fails."""
    checks = run_checks(load_settings())
    if as_json_output:
        print_json(as_json(checks))
    else:
        for check in checks:
            console.print(line(check), highlight=False)
    if any(c.level == "fail" for c in checks):
        raise typer.Exit(1)


def line(check: Check) -> str:
    """`[ok]   memory: 12.3 GiB available`, with `-> what to do` when there is something."""
    tag = f"[{STYLES[check.level]}]{check.level:<4}[/]"
    fix = f"  [dim]->[/] {check.fix}" if check.fix else ""
    return f"{tag} {check.name}: {check.detail}{fix}"
