"""Entry point of the `twincore` command: the platform's commands plus, from each registered
service component, its sub-app (`twincore aml ...`), evaluation (`twincore eval aml`) and
benchmark (`twincore bench aml`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import typer

from twincore import __version__
from twincore.platform.cli import (
    advise_cmd,
    bench_cmd,
    bench_load_cmd,
    config_cmd,
    db_cmd,
    doctor_cmd,
    eval_cmd,
    fuzz_cmd,
    keys_cmd,
    model_cmd,
    router_cmd,
    serve_cmd,
    up_cmd,
)
from twincore.platform.cli.output import console
from twincore.platform.components import load_components, resolve
from twincore.platform.logs import configure_logging


def build_cli(modules: Iterable[str] | None = None) -> typer.Typer:
    """The `twincore` command over the component modules (default: the registered ones)."""
    app = typer.Typer(
        name="twincore",
        help="Twincore: domain LLM applications on two mixture-of-experts model cores.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    app.command("version")(version)
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(db_cmd.app, name="db")
    app.add_typer(keys_cmd.app, name="keys")
    app.command("up")(up_cmd.up)
    app.command("doctor")(doctor_cmd.doctor)
    app.command("serve")(serve_cmd.serve)
    app.add_typer(model_cmd.app, name="model")
    app.add_typer(router_cmd.app, name="router")
    app.command("advise")(advise_cmd.advise)
    evals = typer.Typer(help="Evaluations that print JSON.", no_args_is_help=True)
    evals.command("router")(eval_cmd.router)
    evals.command("structured")(eval_cmd.structured)
    benches = typer.Typer(help="Benchmarks that print JSON.", no_args_is_help=True)
    benches.command("engine")(bench_cmd.engine)
    benches.command("gateway")(bench_cmd.gateway)
    benches.command("load")(bench_load_cmd.load)
    benches.command("grammar")(bench_cmd.grammar)
    benches.command("fuzz")(fuzz_cmd.fuzz)
    for component in load_components(modules)[0]:
        if component.cli:
            app.add_typer(resolve(component.cli), name=component.name)
        if component.evals:
            evals.command(component.name)(resolve(component.evals))
        if component.bench:
            benches.command(component.name)(resolve(component.bench))
    app.add_typer(evals, name="eval")
    app.add_typer(benches, name="bench")
    return app


def _root(
    log_level: Annotated[
        str, typer.Option(envvar="TWINCORE_LOG_LEVEL", help="log level")
    ] = "WARNING",
) -> None:
    # CLI commands log quietly by default; their results go to stdout through rich or --json.
    configure_logging(log_level.upper())


def version() -> None:
    """Print the installed Twincore version."""
    console.print(__version__)


app = build_cli()


def main() -> None:
    """Console-script entry point."""
    app()
