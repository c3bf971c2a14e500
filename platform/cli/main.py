"""Entry point of the `twincore` command: assembles the sub-command groups."""

from __future__ import annotations

from typing import Annotated

import typer

from twincore import __version__
from twincore.platform.cli import (
    advise_cmd,
    bench_cmd,
    config_cmd,
    db_cmd,
    eval_cmd,
    keys_cmd,
    model_cmd,
    router_cmd,
    serve_cmd,
    support_cmd,
    up_cmd,
    writing_cmd,
)
from twincore.platform.cli.output import console
from twincore.platform.logs import configure_logging
from twincore.services.aml import cli as aml_cli

app = typer.Typer(
    name="twincore",
    help="Twincore: domain LLM applications on two mixture-of-experts model cores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.add_typer(keys_cmd.app, name="keys")
app.command("up")(up_cmd.up)
app.command("serve")(serve_cmd.serve)
app.add_typer(model_cmd.app, name="model")
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(router_cmd.app, name="router")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(aml_cli.app, name="aml")
app.add_typer(support_cmd.app, name="support")
app.add_typer(writing_cmd.app, name="writing")
app.command("advise")(advise_cmd.advise)


@app.callback()
def _root(
    log_level: Annotated[
        str, typer.Option(envvar="TWINCORE_LOG_LEVEL", help="log level")
    ] = "WARNING",
) -> None:
    # CLI commands log quietly by default; their results go to stdout through rich or --json.
    configure_logging(log_level.upper())


@app.command("version")
def version() -> None:
    """Print the installed Twincore version."""
    console.print(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
