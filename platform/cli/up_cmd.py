"""`twincore up`: the whole platform on this machine, on embedded defaults, until Ctrl-C.

`serve.run` returns once every deployment is healthy, and a core's replica is healthy only
after its constructor loaded the model (nothing loads lazily after that), so while it waits
this command prints each core as it becomes ready, then what `/readyz` says: every core's
state and each service that cannot serve, with the command that fixes it.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

import httpx
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
                _deploy_printing_cores(build_application(settings), started)
            _print_urls(settings, time.monotonic() - started, load_components()[1])
            _print_readiness(_readyz(settings))
            wait_forever()
    except KeyboardInterrupt:
        err_console.print("stopped: Ray Serve and the local Ray cluster are shut down")


def _deploy_printing_cores(application: Any, started: float) -> None:
    """`serve.run` on a worker thread; meanwhile each core is printed as it becomes ready."""
    from ray import serve

    failure: list[BaseException] = []

    def deploy() -> None:
        try:
            serve.run(application, name="twincore", route_prefix="/")
        except BaseException as error:  # re-raised on the main thread below
            failure.append(error)

    thread = threading.Thread(target=deploy, name="twincore-deploy", daemon=True)
    thread.start()
    shown: set[str] = set()
    while thread.is_alive():
        thread.join(timeout=1.0)
        for line in core_progress(_deployment_states(), shown, time.monotonic() - started):
            console.print(line, highlight=False)
    if failure:
        raise failure[0]


def _deployment_states() -> dict[str, tuple[str, str]]:
    """(status, message) of each deployment of the app; empty before the app exists."""
    from ray import serve

    application = serve.status().applications.get("twincore")
    if application is None:
        return {}
    return {
        name: (str(getattr(d.status, "value", d.status)), d.message or "")
        for name, d in application.deployments.items()
    }


CORE_NAMES = ("deep", "swift")


def core_progress(
    states: dict[str, tuple[str, str]], shown: set[str], elapsed_s: float
) -> list[str]:
    """Lines for the cores that became ready (or unhealthy) since the last call; `shown`
    remembers what was printed."""
    lines = []
    for name in CORE_NAMES:
        status, message = states.get(name, ("", ""))
        key = f"{name}:{status}"
        if key in shown or status not in ("HEALTHY", "UNHEALTHY"):
            continue
        shown.add(key)
        if status == "HEALTHY":
            lines.append(f"  core {name:<5} ready after {elapsed_s:.0f}s")
        else:
            lines.append(f"  core {name:<5} failed to start: {message or 'see the Ray logs'}")
    return lines


def _readyz(settings: Settings) -> dict[str, Any] | None:
    wildcard = settings.gateway.host in ("0.0.0.0", "::")  # noqa: S104
    host = "127.0.0.1" if wildcard else settings.gateway.host
    try:
        answer: dict[str, Any] = httpx.get(
            f"http://{host}:{settings.gateway.port}/readyz", timeout=30
        ).json()
    except (httpx.HTTPError, ValueError) as error:
        err_console.print(f"[yellow]could not read /readyz:[/] {error}")
        return None
    return answer


def readiness_lines(readyz: dict[str, Any]) -> list[str]:
    """Each core's state, then each service that is not ready with its reason and fix."""
    lines = []
    for name, core in readyz.get("cores", {}).items():
        state = core.get("state", "ready" if core.get("ok") else "failed")
        reason = f": {core['reason']}" if core.get("reason") else ""
        lines.append(f"  core {name:<5} {state}{reason}")
    for name, service in readyz.get("services", {}).items():
        if service.get("ok"):
            continue
        reason = service.get("reason") or "not available"
        fix = f"; install with `{service['install']}`" if service.get("install") else ""
        lines.append(f"  service {name} {service.get('state', 'unavailable')}: {reason}{fix}")
    return lines


def _print_readiness(readyz: dict[str, Any] | None) -> None:
    if readyz is None:
        return
    verdict = "ready" if readyz.get("ready") else "[yellow]not fully ready[/]"
    console.print(f"  readiness   {verdict} (cores and services, from /readyz)")
    for line in readiness_lines(readyz):
        console.print(line, highlight=False)


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
