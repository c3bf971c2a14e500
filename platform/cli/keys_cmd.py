"""`twincore keys ...`: issue, list and revoke gateway API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.auth import create_api_key, list_api_keys, revoke_api_key
from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, fail, print_json
from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import current, heads
from twincore.platform.settings import Settings, secret_key_bytes

app = typer.Typer(help="Issue, list and revoke gateway API keys.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]


def _sessions(settings: Settings) -> sessionmaker[Session]:
    if sorted(current(settings.database_url)) != sorted(heads()):
        fail("the database schema is not current: run `twincore db upgrade` first")
    return session_factory(create_db_engine(settings.database_url))


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", "-n", help="who or what uses the key")],
    json_output: JsonFlag = False,
) -> None:
    """Issue a key; its token is printed once and cannot be shown again."""
    settings = load_settings(starting=True)
    try:
        with session_scope(_sessions(settings)) as session:
            key, token = create_api_key(session, name=name, secret_key=secret_key_bytes(settings))
    except ValueError as exc:
        fail(str(exc), code=2)
        return
    if json_output:
        print_json({"id": key.id, "name": key.name, "token": token})
    else:
        console.print(f"API key {key.id} for {key.name!r}: [bold]{token}[/] (shown once)")


@app.command("list")
def list_keys(json_output: JsonFlag = False) -> None:
    """List keys (never their tokens)."""
    with session_scope(_sessions(load_settings())) as session:
        rows = [
            {
                "id": key.id,
                "name": key.name,
                "active": key.active,
                "created_at": key.created_at.isoformat(),
                "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
            }
            for key in list_api_keys(session)
        ]
    if json_output:
        print_json(rows)
        return
    table = Table("id", "name", "active", "created", "last used", title="API keys")
    for row in rows:
        table.add_row(
            *(str(row[c] or "") for c in ("id", "name", "active", "created_at", "last_used_at"))
        )
    console.print(table)


@app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="the key's id from `keys list`")]) -> None:
    """Revoke a key; requests using it are refused from now on."""
    try:
        with session_scope(_sessions(load_settings())) as session:
            key = revoke_api_key(session, key_id=key_id)
    except LookupError as exc:
        fail(str(exc), code=2)
        return
    console.print(f"revoked API key {key.id} ({key.name!r})")
