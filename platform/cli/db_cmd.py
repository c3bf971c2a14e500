"""`twincore db ...`: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, print_json
from twincore.platform.db import migrate

app = typer.Typer(help="Create and migrate the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "heads") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = load_settings(starting=True)
    migrate.upgrade(settings.database_url, revision)
    console.print(f"database at {migrate.current(settings.database_url) or ['base']}")


@app.command("downgrade")
def downgrade(revision: Annotated[str, typer.Argument(help="target revision, or 'base'")]) -> None:
    """Revert migrations down to REVISION ('base' drops every Twincore table)."""
    settings = load_settings()
    migrate.downgrade(settings.database_url, revision)
    console.print(f"database at {migrate.current(settings.database_url) or ['base']}")


@app.command("current")
def current(
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show the database's revision next to the newest one shipped."""
    settings = load_settings()
    at, heads = migrate.current(settings.database_url), migrate.heads()
    if json_output:
        print_json({"current": at, "heads": heads, "up_to_date": sorted(at) == sorted(heads)})
        return
    state = "up to date" if sorted(at) == sorted(heads) else "needs `twincore db upgrade`"
    console.print(f"current {at or ['base']}, newest {heads}: {state}")
