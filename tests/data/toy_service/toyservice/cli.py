"""`twincore toy ...` and `twincore eval toy`."""

from __future__ import annotations

import typer

app = typer.Typer(help="The toy service.", no_args_is_help=True)


@app.command("hello")
def hello(name: str) -> None:
    """Say hello."""
    typer.echo(f"toy says hello to {name}")


@app.command("bye")
def bye() -> None:
    """Say goodbye."""
    typer.echo("toy says bye")


def eval_command() -> None:
    """Evaluate the toy service."""
    typer.echo('{"toy_accuracy": 1.0}')
