"""`twincore up`: the whole platform on this machine, on embedded defaults, until Ctrl-C."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console
from twincore.platform.components import UiComponent
from twincore.platform.settings import Settings


def up(
    host: Annotated[
        str | None, typer.Option(help="address to bind (default from settings)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (default from settings)")] = None,
    dashboard: Annotated[bool, typer.Option(help="also start the Ray dashboard")] = False,
) -> None:
    """Start a local Ray, deploy both cores, the router, services and UIs; stop on Ctrl-C."""
    from ray import serve

    from twincore.platform.app import build_application
    from twincore.platform.components import load_components
    from twincore.platform.db.migrate import upgrade
    from twincore.platform.launcher import ray_cluster, wait_forever

    settings = load_settings(starting=True)
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings.gateway = settings.gateway.model_copy(update=updates)
    started = time.monotonic()
    upgrade(settings.database_url)
    try:
        with ray_cluster(settings, dashboard=dashboard):
            serve.start(http_options={"host": settings.gateway.host, "port": settings.gateway.port})
            with console.status(
                "deploying the cores (a first start converts the default weights: ~1 min)"
            ):
                serve.run(build_application(settings), name="twincore", route_prefix="/")
            _print_urls(settings, time.monotonic() - started, load_components()[1])
            wait_forever()
    except KeyboardInterrupt:
        err_console.print("stopped: Ray Serve and the local Ray cluster are shut down")


def _print_urls(settings: Settings, elapsed_s: float, uis: list[UiComponent]) -> None:
    # A wildcard bind is reachable on loopback too; print the address a local browser can open.
    wildcard = settings.gateway.host in ("0.0.0.0", "::")  # noqa: S104
    host = "127.0.0.1" if wildcard else settings.gateway.host
    base = f"http://{host}:{settings.gateway.port}"
    console.print(f"[bold green]Twincore is up[/] in {elapsed_s:.0f}s (Ctrl-C stops it)")
    console.print(f"  OpenAI API  {base}/v1   (models: auto, deep, swift)")
    console.print(f"  API docs    {base}/docs")
    console.print(f"  health      {base}/readyz   metrics {base}/metrics")
    for ui in uis:
        console.print(f"  {ui.title:<11} {base}/ui/{ui.name}")
    if settings.auth.require_api_key:
        console.print("  API keys are required: `twincore keys create --name NAME`")
    else:
        console.print("  dev mode: loopback clients need no API key")
