"""How services and UIs join the platform: each service package registers itself once.

A service is one package under `services/` whose `component.py` declares a `ServiceComponent`
and is named under the `twincore.components` entry-point group in pyproject.toml. The component
says everything the service brings: its class (no Ray inside) and routes, its Gradio screen, its
CLI sub-app, its evaluation and benchmark commands, its tables and migrations. The platform
derives the API mounts, the UI list, the `twincore` CLI, the table registry and the Alembic
version folders from the registered components, and never imports a service by name.

Lazy parts (UI, CLI, eval, bench) are "module:attribute" strings, imported only where they are
used: a service replica never imports Gradio or Typer, the CLI never builds a service.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import APIRouter

    from twincore.platform.router.router import RouterClient
    from twincore.platform.settings import Settings

ENTRY_POINT_GROUP = "twincore.components"

# The platform's own screens (not services): they come first in the UI list.
PLATFORM_MODULES: tuple[str, ...] = ("twincore.apps.screens",)

# Tables the platform itself owns (API keys, the request log).
PLATFORM_TABLE_MODULES: tuple[str, ...] = ("twincore.platform.auth", "twincore.platform.requestlog")


@dataclass(frozen=True)
class UiContext:
    """What a UI builder gets: the router (in-process or a handle client), the settings and a
    client per service (`services["aml"]`: every method awaited, in-process or over Ray)."""

    router: RouterClient
    settings: Settings
    services: dict[str, Any]


RESERVED_SERVICE_NAMES = frozenset(
    {"chat", "completions", "models", "embeddings", "docs", "whoami", "eval", "bench"}
)


def resolve(path: str) -> Any:
    """The object a "package.module:attribute" string names."""
    module_name, _, attribute = path.partition(":")
    if not attribute:
        raise ValueError(f"{path!r} is not of the form 'module:attribute'")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class UiComponent:
    """A Gradio screen mounted at `/ui/<name>`; `build` is a function of a `UiContext`, or the
    "module:function" string of one."""

    name: str
    title: str
    build: Callable[[UiContext], gr.Blocks] | str

    def builder(self) -> Callable[[UiContext], gr.Blocks]:
        built: Callable[[UiContext], gr.Blocks] = (
            resolve(self.build) if isinstance(self.build, str) else self.build
        )
        return built


@dataclass(frozen=True)
class ServiceComponent:
    """Everything a domain service brings to the platform.

    `factory(router, settings)` builds the service object (hosted in a Ray Serve deployment, or
    in-process); `api(client)` builds its routes, mounted at `/v1/<name>` behind the gateway's
    auth; either may be given as a "module:attribute" string, so that reading the registry
    (the CLI, the table list) imports no service code. The optional parts are strings: `ui` a
    Gradio builder mounted at `/ui/<name>` (titled `title`), `cli` a Typer app
    (`twincore <name> ...`), `evals` and `bench` Typer commands (`twincore eval <name>`,
    `twincore bench <name>`). `tables` are the modules declaring its ORM tables; `migrations`
    the "package:folder" of its Alembic versions.
    """

    name: str
    factory: Callable[[RouterClient, Settings], Any] | str
    api: Callable[[Any], APIRouter] | str
    title: str = ""
    ui: str | None = None
    cli: str | None = None
    evals: str | None = None
    bench: str | None = None
    tables: tuple[str, ...] = ()
    migrations: str | None = None
    workload: str | None = None
    """"module:attribute" of its router-evaluation workload (platform/evals/workloads.py)."""
    readiness: str | None = None
    """Name of the service's method that reports whether it can serve (`/readyz`): it returns
    a dict with `ok` and, when not ok, `state`, `reason` and what fixes it (codegen: the
    sandbox tools missing and their install command). None: ready once deployed."""

    def __post_init__(self) -> None:
        # Services share the /v1 namespace with the OpenAI API and the CLI with the platform's
        # commands: a service named like one of those would shadow it.
        if self.name in RESERVED_SERVICE_NAMES or not self.name.isidentifier():
            raise ValueError(f"service name {self.name!r} is reserved or not an identifier")

    @classmethod
    def standard(
        cls,
        package: str,
        service_class: str,
        *,
        title: str,
        cli: bool = False,
        evals: bool = True,
        bench: bool = False,
        workload: bool = True,
    ) -> ServiceComponent:
        """The component of a service package laid out on the standard skeleton: named after
        its package, `service.py` holds `service_class`, `api.py` holds `build_api`, the screen
        is `twincore.apps.<name>:build`, `cli.py` holds `app`, `eval_command` and
        `bench_command`, `models.py` the tables, `migrations/` the Alembic versions and
        `workload.py` its `WORKLOAD` for the router evaluation."""
        name = package.rsplit(".", 1)[-1]
        return cls(
            name=name,
            factory=f"{package}.service:{service_class}",
            api=f"{package}.api:build_api",
            title=title,
            ui=f"twincore.apps.{name}:build",
            cli=f"{package}.cli:app" if cli else None,
            evals=f"{package}.cli:eval_command" if evals else None,
            bench=f"{package}.cli:bench_command" if bench else None,
            tables=(f"{package}.models",),
            migrations=f"{package}:migrations",
            workload=f"{package}.workload:WORKLOAD" if workload else None,
        )

    def build_service(self, router: RouterClient, settings: Settings) -> Any:
        """The service object, over `router`."""
        factory = resolve(self.factory) if isinstance(self.factory, str) else self.factory
        return factory(router, settings)

    def routes(self, client: Any) -> APIRouter:
        """The service's routes over `client` (every method awaited)."""
        api = resolve(self.api) if isinstance(self.api, str) else self.api
        routes: APIRouter = api(client)
        return routes

    def ui_component(self) -> UiComponent | None:
        if self.ui is None:
            return None
        return UiComponent(name=self.name, title=self.title or self.name.title(), build=self.ui)


def component_modules() -> tuple[str, ...]:
    """The platform's screens, then every module registered in the entry-point group."""
    registered = tuple(point.value for point in entry_points(group=ENTRY_POINT_GROUP))
    return PLATFORM_MODULES + registered


def load_components(
    modules: Iterable[str] | None = None,
) -> tuple[list[ServiceComponent], list[UiComponent]]:
    """Every declared component (default: the registered ones): services, and all UIs (the
    platform's and each service's screen)."""
    services: list[ServiceComponent] = []
    uis: list[UiComponent] = []
    for module_name in component_modules() if modules is None else modules:
        for component in importlib.import_module(module_name).COMPONENTS:
            if isinstance(component, ServiceComponent):
                services.append(component)
                ui = component.ui_component()
                if ui is not None:
                    uis.append(ui)
            elif isinstance(component, UiComponent):
                uis.append(component)
            else:
                raise TypeError(f"{module_name}: {component!r} is not a component")
    names = [c.name for c in services]
    if len(names) != len(set(names)):
        raise ValueError(f"two services share a name: {sorted(names)}")
    return services, uis


def table_modules(modules: Iterable[str] | None = None) -> tuple[str, ...]:
    """The platform's table modules, then each registered service's."""
    services, _ = load_components(modules)
    return PLATFORM_TABLE_MODULES + tuple(m for c in services for m in c.tables)


def migration_folders(modules: Iterable[str] | None = None) -> list[str]:
    """The file-system folders of the services' Alembic versions."""
    from importlib.resources import files

    folders = []
    for component in load_components(modules)[0]:
        if component.migrations:
            package, _, folder = component.migrations.partition(":")
            folders.append(str(files(package) / folder))
    return folders


async def call_method(service: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Await `service.name(...)`; a blocking method runs on a worker thread so the event loop
    keeps serving. Positional-only, so a service method may take `name` or `service` keywords."""
    method = getattr(service, name)
    if inspect.iscoroutinefunction(method):
        return await method(*args, **kwargs)
    return await asyncio.to_thread(method, *args, **kwargs)


async def service_readiness(
    component: ServiceComponent, client: Any, *, timeout_s: float = 5.0
) -> dict[str, Any]:
    """The service's own readiness report (its `readiness` method), with `ok` and `state`
    always set; a service that does not answer in time or fails its check is `unavailable`."""
    if component.readiness is None:
        return {"ok": True, "state": "ready"}
    try:
        report = dict(await asyncio.wait_for(getattr(client, component.readiness)(), timeout_s))
    except TimeoutError:
        reason = f"its readiness check did not answer within {timeout_s:g} s"
        return {"ok": False, "state": "unavailable", "reason": reason}
    except Exception as error:  # a dead replica, a broken check: not ready, and why
        reason = f"its readiness check failed: {type(error).__name__}: {error}"
        return {"ok": False, "state": "unavailable", "reason": reason}
    ok = bool(report.get("ok"))
    report["ok"] = ok
    report.setdefault("state", "ready" if ok else "unavailable")
    return report


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
