"""Serve config files: read and check them against Ray's own schema, then deploy them the way
`serve deploy` and KubeRay do (the controller imports each `import_path` and applies `args` and
`deployments` overrides), and wait until every application runs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from twincore.platform.safe_yaml import read_yaml
from twincore.platform.settings import Settings

logger = logging.getLogger(__name__)

TWINCORE_IMPORT_PATH = "twincore.platform.app:build_app"
POLL_S = 0.5


class ServeConfigError(ValueError):
    """A Serve config that cannot be read, is not valid, or whose applications failed."""


def read_serve_config(path: Path) -> Any:
    """The file as Ray's `ServeDeploySchema`; every Twincore application's `args` must also be
    valid settings (a typo fails here, not inside a replica)."""
    from ray.serve.schema import ServeDeploySchema

    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ServeConfigError(f"cannot read {path}: {error}") from error
    try:
        schema = ServeDeploySchema.model_validate(data)
    except ValidationError as error:
        raise ServeConfigError(f"{path} is not a valid Ray Serve config:\n{error}") from error
    if not schema.applications:
        raise ServeConfigError(f"{path}: a Serve config needs an 'applications' list")
    for app in schema.applications:
        if app.import_path == TWINCORE_IMPORT_PATH:
            app_settings(app.args, where=f"{path}: application {app.name!r}")
    return schema


def app_settings(args: dict[str, Any] | None, *, where: str = "args") -> Settings:
    """The settings `build_app(args)` resolves (environment and twincore.yaml included)."""
    try:
        return Settings(**(args or {}))
    except ValidationError as error:
        raise ServeConfigError(f"{where}: invalid args:\n{error}") from error


def twincore_settings(schema: Any) -> list[Settings]:
    """Settings of every Twincore application in a validated config."""
    return [
        app_settings(a.args) for a in schema.applications if a.import_path == TWINCORE_IMPORT_PATH
    ]


def deploy_config(schema: Any, *, timeout_s: float) -> dict[str, str]:
    """Start Serve with the file's HTTP and proxy options, submit the applications to the
    controller and wait until each is RUNNING; returns name -> route prefix."""
    from ray import serve
    from ray.serve.context import _get_global_client

    serve.start(
        http_options=schema.http_options.model_dump(),
        proxy_location=schema.proxy_location,
        grpc_options=schema.grpc_options.model_dump(),
    )
    client = _get_global_client()
    if client is None:  # serve.start() connects one; None means Serve is not running
        raise ServeConfigError("Ray Serve did not start")
    client.deploy_apps(schema, _blocking=False)
    names = [app.name for app in schema.applications]
    logger.info("submitted Serve applications %s", names)
    wait_running(names, timeout_s=timeout_s)
    return {app.name: app.route_prefix or "/" for app in schema.applications}


def wait_running(names: list[str], *, timeout_s: float) -> None:
    """Until every named application is RUNNING; a failed one raises with the controller's
    message (the builder's traceback, an unschedulable replica)."""
    from ray import serve
    from ray.serve.schema import ApplicationStatus

    deadline = time.monotonic() + timeout_s
    while True:
        apps = serve.status().applications
        for name in names:
            app = apps.get(name)
            if app is not None and app.status == ApplicationStatus.DEPLOY_FAILED:
                raise ServeConfigError(f"application {name!r} failed to deploy:\n{app.message}")
        waiting = [n for n in names if n not in apps or apps[n].status != ApplicationStatus.RUNNING]
        if not waiting:
            return
        if time.monotonic() > deadline:
            states = {
                n: (apps[n].status.value, apps[n].message) if n in apps else None for n in waiting
            }
            raise ServeConfigError(f"not running after {timeout_s:.0f} s: {states}")
        time.sleep(POLL_S)
