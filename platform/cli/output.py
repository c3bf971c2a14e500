"""Printing for the CLI: rich tables on a terminal, JSON when asked for."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour codes), so scripts can parse it."""
    console.file.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def print_facts(facts: dict[str, Any], title: str) -> None:
    """A two-column table of facts, integers with thousands separators."""
    from rich.table import Table

    table = Table("fact", "value", title=title)
    for key, value in facts.items():
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        table.add_row(key, str(shown))
    console.print(table)


def fail(message: str, code: int = 1) -> None:
    """Print an error in red on stderr and exit with `code`."""
    import typer

    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
