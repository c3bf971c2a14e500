"""`twincore serve --config deploy/serve.yaml`: deploy applications from a Ray Serve config."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, err_console, fail


def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="Ray Serve config YAML")],
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: a private local cluster)")
    ] = None,
    detach: Annotated[
        bool, typer.Option(help="leave the apps running on the cluster and exit")
    ] = False,
) -> None:
    """Deploy every application in a Serve config file (import_path + args), like `serve run`."""
    from ray import serve as ray_serve

    from twincore.platform.launcher import ray_cluster, wait_forever

    spec = _read_config(config)
    if detach and not address:
        fail("--detach needs --address: a private local cluster ends with this command", code=2)
    settings = load_settings(starting=True)
    http = spec.get("http_options") or {}
    try:
        with ray_cluster(settings, address=address):
            ray_serve.start(http_options=http)
            for app in spec["applications"]:
                builder = _import(app["import_path"])
                with console.status(f"deploying {app['name']}"):
                    ray_serve.run(
                        builder(app.get("args") or {}),
                        name=app["name"],
                        route_prefix=app.get("route_prefix", "/"),
                    )
                console.print(f"deployed {app['name']} at {app.get('route_prefix', '/')}")
            if detach:
                return
            wait_forever()
    except KeyboardInterrupt:
        err_console.print("stopped")


def _read_config(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        fail(f"cannot read {path}: {error}", code=2)
        raise
    if not isinstance(spec, dict) or not spec.get("applications"):
        fail(f"{path}: a Serve config needs an 'applications' list", code=2)
    for app in spec["applications"]:
        if not isinstance(app, dict) or "import_path" not in app or "name" not in app:
            fail(f"{path}: every application needs 'name' and 'import_path'", code=2)
    return spec  # type: ignore[no-any-return]


def _import(import_path: str) -> Any:
    module_name, _, attribute = import_path.replace(":", ".").rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        fail(f"cannot import {import_path}: {error}", code=2)
        raise
