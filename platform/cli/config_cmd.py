"""`twincore config ...`: inspect the resolved configuration."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, print_json

app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


@app.command("show")
def show(json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Print the configuration after env, YAML and defaults are merged; secrets masked."""
    settings = load_settings()
    data = settings.masked()
    problems = [] if settings.dev_mode else settings.insecure_settings()
    if json_output:
        print_json(data)
    else:
        table = Table("setting", "value", title="Twincore configuration")
        for name, value in _flatten(data):
            table.add_row(name, "" if value is None else str(value))
        console.print(table)
    for problem in problems:
        err_console.print(f"[yellow]start-up will refuse:[/] {problem}")
