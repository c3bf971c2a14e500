"""`twincore serve --config deploy/serve.yaml`: deploy applications from a Ray Serve config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail
from twincore.platform.serve_config import (
    ServeConfigError,
    deploy_config,
    read_serve_config,
    twincore_settings,
)

DEPLOY_TIMEOUT_S = 900.0  # the first start converts the default weights (about a minute)


def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="Ray Serve config YAML")],
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a private local cluster)")
    ] = None,
    detach: Annotated[
        bool, typer.Option(help="leave the apps running on the cluster and exit")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for every application to run")
    ] = DEPLOY_TIMEOUT_S,
) -> None:
    """Deploy every application of a Serve config (import_path, args, deployments overrides)
    through the Serve controller, as `serve deploy` and KubeRay do, then serve until Ctrl-C."""
    from twincore.platform.launcher import ray_cluster, wait_forever

    if detach and not address:
        fail("--detach needs --address: a private local cluster ends with this command", code=2)
    try:
        spec = read_serve_config(config)
        # A private cluster advertises what the apps reserve (CPUs, node pins); a real one has it.
        serving = [] if address else twincore_settings(spec)
    except ServeConfigError as error:
        fail(str(error), code=2)
        raise
    settings = load_settings(starting=True)
    try:
        with ray_cluster(settings, address=address, serving=serving):
            with console.status(f"deploying {', '.join(a.name for a in spec.applications)}"):
                try:
                    routes = deploy_config(spec, timeout_s=timeout)
                except ServeConfigError as error:
                    fail(str(error), code=1)
            for name, prefix in routes.items():
                console.print(f"deployed {name} at {prefix}")
            if detach:
                return
            wait_forever()
    except KeyboardInterrupt:
        err_console.print("stopped")
