"""How services and UIs join the platform: each declares itself once, the app builder wires it.

A service is a plain class (no Ray inside) plus a function that builds its FastAPI router from
a client of that class; the builder turns the class into a Ray Serve deployment, or the gateway
holds an instance in-process. A UI is a Gradio builder function mounted at `/ui/<name>` (Blocks
objects cannot be pickled into a Serve ingress, so they are built inside the gateway replica).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import APIRouter

    from twincore.platform.router.router import RouterClient
    from twincore.platform.settings import Settings


@dataclass(frozen=True)
class UiContext:
    """What a UI builder gets: the router (in-process or a handle client) and the settings."""

    router: RouterClient
    settings: Settings
    services: dict[str, Any]


RESERVED_SERVICE_NAMES = frozenset({"chat", "completions", "models", "embeddings", "docs"})


@dataclass(frozen=True)
class ServiceComponent:
    """A domain service: `factory(router, settings)` builds the service object; `api(service)`
    builds its routes, mounted at `/v1/<name>` (e.g. `/v1/aml/...`) behind the gateway's auth."""

    name: str
    factory: Callable[[RouterClient, Settings], Any]
    api: Callable[[Any], APIRouter]

    def __post_init__(self) -> None:
        # Services share the /v1 namespace with the OpenAI API: a service named like one of its
        # routes would shadow it.
        if self.name in RESERVED_SERVICE_NAMES or not self.name.isidentifier():
            raise ValueError(f"service name {self.name!r} is reserved or not an identifier")


@dataclass(frozen=True)
class UiComponent:
    """A Gradio screen mounted at `/ui/<name>`."""

    name: str
    title: str
    build: Callable[[UiContext], gr.Blocks]


# Modules that declare components (a `COMPONENTS` tuple each); services add themselves here.
COMPONENT_MODULES: tuple[str, ...] = (
    "twincore.apps.playground",
    "twincore.apps.console",
    "twincore.apps.codegen",
    "twincore.services.aml.component",
    "twincore.apps.aml",
    "twincore.services.writing.component",
    "twincore.apps.writing",
    "twincore.services.tutor.component",
    "twincore.apps.tutor",
    "twincore.services.support.component",
    "twincore.apps.support",
)


def load_components(
    modules: tuple[str, ...] = COMPONENT_MODULES,
) -> tuple[list[ServiceComponent], list[UiComponent]]:
    """Every declared component, services and UIs apart."""
    services: list[ServiceComponent] = []
    uis: list[UiComponent] = []
    for module_name in modules:
        for component in importlib.import_module(module_name).COMPONENTS:
            if isinstance(component, ServiceComponent):
                services.append(component)
            elif isinstance(component, UiComponent):
                uis.append(component)
            else:
                raise TypeError(f"{module_name}: {component!r} is not a component")
    return services, uis


async def call_method(service: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Await `service.name(...)`; a blocking method runs on a worker thread so the event loop
    keeps serving. Positional-only, so a service method may take `name` or `service` keywords."""
    method = getattr(service, name)
    if inspect.iscoroutinefunction(method):
        return await method(*args, **kwargs)
    return await asyncio.to_thread(method, *args, **kwargs)


class LocalServiceClient:
    """A service object seen the way routes see a Ray handle: every method call is awaited
    (blocking methods run on a worker thread so the event loop keeps serving)."""

    def __init__(self, service: Any) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Callable[..., Any]:
        getattr(self._service, name)  # an unknown method fails here, not when awaited

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await call_method(self._service, name, *args, **kwargs)

        return call

    def stream_call(self, name: str, /, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """The items of the service's async-generator method `name` (a streamed call)."""
        items: AsyncIterator[Any] = getattr(self._service, name)(*args, **kwargs)
        return items
