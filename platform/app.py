"""Builds the Twincore Ray Serve application from settings (`import_path` of a Serve config).

One `CoreServer` deployment per core, the router deployment holding a handle per core, a
deployment per service, and the gateway ingress whose FastAPI app (with the Gradio UIs) is built
inside its replica.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from typing import Any, cast

from fastapi import FastAPI
from ray import serve
from ray.serve import Application, Deployment
from ray.serve.handle import DeploymentHandle

from twincore.platform.components import call_method, component_modules, load_components
from twincore.platform.cores import CoreServer
from twincore.platform.gateway.app import build_gateway, build_state
from twincore.platform.router.router import Router
from twincore.platform.router.setup import router_options
from twincore.platform.serve_handles import HandleCore, RouterHandleClient, ServiceHandleClient
from twincore.platform.serve_options import (
    core_options,
    gateway_actor_options,
    lower_process_priority,
    router_actor_options,
    scaling_options,
    service_actor_options,
)
from twincore.platform.settings import Settings

logger = logging.getLogger(__name__)

# Router and gateway only pass requests along: they take many at once (their CPU reservations,
# and the services', are in serve_options.py).
MAX_ONGOING_LIGHT = 1024


class RouterDeployment(Router):
    """The router over core deployment handles."""

    def __init__(self, core_handles: dict[str, DeploymentHandle[Any]], settings: Settings) -> None:
        cores = {name: HandleCore(name, handle) for name, handle in core_handles.items()}
        super().__init__(cores, **router_options(settings))


class ServiceDeployment:
    """Hosts one service component; the gateway calls its methods by name."""

    def __init__(
        self, name: str, modules: tuple[str, ...], router: DeploymentHandle[Any], settings: Settings
    ) -> None:
        lower_process_priority()  # batch services (serve_options.py): below the cores
        services, _ = load_components(modules)
        component = next(c for c in services if c.name == name)
        self.service = component.build_service(RouterHandleClient(router), settings)

    async def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        return await call_method(self.service, method, *args, **kwargs)

    async def stream(self, method: str, /, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """A streamed call: the items of the service's async-generator method `method`."""
        async for item in getattr(self.service, method)(*args, **kwargs):
            yield item


@serve.ingress()
class GatewayDeployment:
    """The HTTP ingress: builds its FastAPI app in the replica (Gradio apps cannot be pickled)."""

    def __init__(
        self,
        router: DeploymentHandle[Any],
        services: dict[str, DeploymentHandle[Any]],
        settings: Settings,
        modules: tuple[str, ...],
    ) -> None:
        self._router = RouterHandleClient(router)
        self._services = {name: ServiceHandleClient(h) for name, h in services.items()}
        self._settings, self._modules = settings, modules

    def __serve_build_asgi_app__(self) -> FastAPI:
        services, uis = load_components(self._modules)
        state = build_state(self._settings, self._router, dict(self._services))
        return build_gateway(state, services=services, uis=uis)


def _deployment(cls: type) -> Deployment:
    return cast(Deployment, serve.deployment(cls))


def build_application(settings: Settings, *, modules: tuple[str, ...] | None = None) -> Application:
    """The whole platform as one Serve application; `modules` are the component modules
    (default: the platform's screens and every registered service)."""
    modules = component_modules() if modules is None else tuple(modules)
    settings = settings.absolute()  # replicas do not run in the caller's directory
    logger.info("building the twincore app: %s", json.dumps(settings.masked()))
    cores = {}
    for name, config in (("deep", settings.cores.deep), ("swift", settings.cores.swift)):
        cores[name] = (
            _deployment(CoreServer)
            .options(name=name, **core_options(config))
            .bind(name, config, data_dir=settings.data_dir)
        )
    router = (
        _deployment(RouterDeployment)
        .options(
            name="router",
            ray_actor_options=router_actor_options(),
            max_ongoing_requests=MAX_ONGOING_LIGHT,
        )
        .bind(cores, settings)
    )
    service_components, _ = load_components(modules)
    services = {
        c.name: _deployment(ServiceDeployment)
        .options(name=f"service-{c.name}", ray_actor_options=service_actor_options(c.name))
        .bind(c.name, modules, router, settings)
        for c in service_components
    }
    return (
        _deployment(GatewayDeployment)
        .options(
            name="gateway",
            **scaling_options(settings.gateway.replicas, settings.gateway.autoscaling),
            ray_actor_options=gateway_actor_options(),
            max_ongoing_requests=MAX_ONGOING_LIGHT,
        )
        .bind(router, services, settings, modules)
    )


def build_app(args: dict[str, Any] | None = None) -> Application:
    """Serve config entry point: `args` are settings overrides on top of env and YAML, e.g.
    `{"cores": {"deep": {"quantization": "int4"}}, "gateway": {"rate_limit_per_minute": 120}}`."""
    return build_application(Settings(**(args or {})))
