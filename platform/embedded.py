"""The platform in one process, without Ray: the same router and gateway over in-process cores.

Used by tests, notebooks and the browser tier; `twincore up` runs the Ray Serve app instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from twincore.platform.components import (
    LocalServiceClient,
    ServiceComponent,
    UiComponent,
    load_components,
)
from twincore.platform.cores import CoreServer
from twincore.platform.gateway.app import build_gateway, build_state
from twincore.platform.gateway.deps import GatewayState
from twincore.platform.router.router import CoreClient
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings

STARTUP_TIMEOUT_S = 20.0


def build_embedded_app(
    settings: Settings,
    cores: Mapping[str, CoreClient],
    *,
    components: Sequence[ServiceComponent | UiComponent] | None = None,
    modules: Iterable[str] | None = None,
) -> tuple[FastAPI, GatewayState]:
    """A gateway app over `cores`, in-process, with `components` given as objects, or else
    those of the component `modules` (default: the platform's screens and every registered
    service)."""
    router = build_router(cores, settings)
    if components is None:
        services, uis = load_components(modules)
    else:
        services = [c for c in components if isinstance(c, ServiceComponent)]
        uis = [c for c in components if isinstance(c, UiComponent)]
        uis += [ui for c in services if (ui := c.ui_component()) is not None]
    clients = {c.name: LocalServiceClient(c.build_service(router, settings)) for c in services}
    state = build_state(settings, router, clients)
    return build_gateway(state, services=services, uis=uis), state


def build_cores(settings: Settings) -> dict[str, CoreServer]:
    """Both cores as the settings describe them, in this process."""
    cores = settings.cores
    return {
        name: CoreServer(name, config, data_dir=settings.data_dir)
        for name, config in (("deep", cores.deep), ("swift", cores.swift))
    }


@contextmanager
def serve_in_background(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` with uvicorn on a daemon thread (notebooks, tests); yields its base URL.
    Port 0 takes a free one."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="twincore-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HTTP server did not start on {host}:{port}")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
