"""The platform in one process, without Ray: the same router and gateway over in-process cores.

Used by tests, notebooks and the browser tier; `twincore up` runs the Ray Serve app instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import FastAPI

from twincore.platform.components import (
    LocalServiceClient,
    ServiceComponent,
    UiComponent,
    load_components,
)
from twincore.platform.gateway.app import build_gateway, build_state
from twincore.platform.gateway.deps import GatewayState
from twincore.platform.routing.router import CoreClient, Router
from twincore.platform.settings import Settings


def build_embedded_app(
    settings: Settings,
    cores: Mapping[str, CoreClient],
    *,
    components: Sequence[ServiceComponent | UiComponent] | None = None,
) -> tuple[FastAPI, GatewayState]:
    """A gateway app over `cores` with `components` (default: every declared one) in-process."""
    router = Router(cores, cooldown_s=settings.gateway.router_cooldown_s)
    if components is None:
        services, uis = load_components()
    else:
        services = [c for c in components if isinstance(c, ServiceComponent)]
        uis = [c for c in components if isinstance(c, UiComponent)]
    clients = {c.name: LocalServiceClient(c.factory(router, settings)) for c in services}
    state = build_state(settings, router, clients)
    return build_gateway(state, services=services, uis=uis), state
