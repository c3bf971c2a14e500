"""Builds the gateway's FastAPI app: OpenAI API, health, metrics, services and UIs.

The same function serves a Ray Serve ingress replica and an in-process app (tests, embedding):
only the router client differs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from twincore import __version__
from twincore.platform.chat_transport import TwincoreError
from twincore.platform.components import (
    ServiceComponent,
    UiComponent,
    UiContext,
    service_readiness,
)
from twincore.platform.db import create_db_engine, session_factory
from twincore.platform.errors import ERROR_TYPES, ServiceError, clean_message, describe
from twincore.platform.gateway import keys_api, login, openai_api
from twincore.platform.gateway.access import AccessGuard, gradio_user
from twincore.platform.gateway.deps import ApiError, Caller, GatewayState, State, authorize
from twincore.platform.gateway.metrics import GatewayMetrics
from twincore.platform.gateway.middleware import TrackingMiddleware
from twincore.platform.gateway.ratelimit import LocalRateLimiter, RateLimit, RateLimiter
from twincore.platform.gateway.responses import error_body
from twincore.platform.gateway.security import Authenticator
from twincore.platform.gateway.service_tracking import TrackedServiceClient
from twincore.platform.gateway.shared_limits import SharedRateLimiter, in_serve_replica
from twincore.platform.gateway.tracking import RequestLogWriter
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings, secret_key_bytes

logger = logging.getLogger(__name__)


def build_state(
    settings: Settings,
    router: RouterClient,
    services: dict[str, Any] | None = None,
    *,
    limiter: RateLimiter | None = None,
) -> GatewayState:
    """`limiter` defaults to the replicas' shared one under Ray Serve, a local one otherwise."""
    sessions = session_factory(create_db_engine(settings.database_url))
    writer = RequestLogWriter(sessions)
    tracked = {
        name: TrackedServiceClient(client, name, writer)
        for name, client in (services or {}).items()
    }
    return GatewayState(
        settings=settings,
        router=router,
        auth=Authenticator(
            sessions, secret_key_bytes(settings), require_key=bool(settings.auth.require_api_key)
        ),
        limiter=limiter or _default_limiter(settings),
        metrics=GatewayMetrics(),
        log_writer=writer,
        services=tracked,
    )


def _default_limiter(settings: Settings) -> RateLimiter:
    limit = RateLimit(settings.gateway.rate_limit_per_minute, settings.gateway.rate_limit_burst)
    if in_serve_replica():
        return SharedRateLimiter(limit)
    return LocalRateLimiter(limit)


def build_gateway(
    state: GatewayState,
    *,
    services: Sequence[ServiceComponent] = (),
    uis: Sequence[UiComponent] = (),
) -> FastAPI:
    """The ASGI app of one gateway; `state.services` holds a client per service component."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # Store the request log entries still queued before the process goes away.
        await asyncio.to_thread(state.log_writer.close)

    app = FastAPI(
        title="Twincore",
        version=__version__,
        description="OpenAI-compatible API over two model cores, and the domain services.",
        lifespan=lifespan,
    )
    app.state.gateway = state
    # Added first, so it runs inside the tracking middleware: refusals are logged too.
    app.add_middleware(AccessGuard, auth=state.auth)
    app.add_middleware(TrackingMiddleware, state=state)
    _add_error_handlers(app)
    app.include_router(openai_api.router)
    app.include_router(login.router)
    app.include_router(keys_api.router)
    _add_operations(app, services)
    for component in services:
        app.include_router(
            component.routes(state.services[component.name]),
            prefix=f"/v1/{component.name}",
            dependencies=[Depends(authorize)],
        )
    if uis:
        _mount_uis(app, state, uis)
    return app


def _add_operations(app: FastAPI, services: Sequence[ServiceComponent]) -> None:
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, Any]:
        """Liveness: the gateway process answers."""
        return {"ok": True, "version": __version__}

    @app.get("/readyz", tags=["operations"])
    async def readyz(
        state: State,
        full: Annotated[
            bool, Query(description="answer 503 unless every core and service is ready")
        ] = False,
    ) -> JSONResponse:
        """Readiness. `ok`: at least one core serves (requests get answered, by fallback if
        need be); `ready`: every core is ready and every service available. Each core has a
        `state` (loading / ready / failed, with `reason`), each service too (ready / degraded /
        unavailable, with `reason` and what fixes it). The status follows `ok` (200 or 503),
        so a load balancer keeps a gateway that can answer; with `?full=true` it follows
        `ready`."""
        health, reports = await asyncio.gather(
            state.router.health(),
            asyncio.gather(*(service_readiness(c, state.services[c.name]) for c in services)),
        )
        service_states = {c.name: r for c, r in zip(services, reports, strict=True)}
        cores_ready = all(core.get("ok") for core in health["cores"].values())
        ready = bool(health["ok"]) and cores_ready and all(r["ok"] for r in reports)
        body = {**health, "ready": ready, "services": service_states}
        passing = ready if full else bool(health["ok"])
        return JSONResponse(body, status_code=200 if passing else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics(state: State) -> Response:
        """Prometheus text: requests, tokens, latency per core, routing decisions."""
        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/whoami", tags=["operations"])
    async def whoami(caller: Caller) -> dict[str, Any]:
        """The caller as the gateway sees it (key id and name)."""
        return {"key_id": caller.key_id, "name": caller.name}


def _add_error_handlers(app: FastAPI) -> None:
    """The one error edge: every failure answers OpenAI's error object, with no traceback,
    ANSI code or server path in it, whichever process (gateway or service replica) raised it."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(clean_message(error.message), error.type, param=error.param),
            status_code=error.status,
            headers=error.headers,
        )

    async def service_error(request: Request, error: Exception) -> JSONResponse:
        status, kind, message, param, details = describe(error)
        if status >= 500:
            logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
        body = error_body(message, kind, param=param)
        if details:
            body["error"]["details"] = details
        return JSONResponse(body, status_code=status)

    # Across a Ray actor boundary a service error arrives as Ray's wrapper, which subclasses
    # the original class when it can and is a plain exception when it cannot: both land here.
    for kind in (ServiceError, TwincoreError, Exception):
        app.add_exception_handler(kind, service_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = ERROR_TYPES.get(error.status_code, "invalid_request_error")
        message = clean_message(str(error.detail)) if error.detail else "request refused"
        if error.status_code in (404, 405) and error.detail in ("Not Found", "Method Not Allowed"):
            # Starlette's own answer for a route that does not exist: say what would help.
            verb = "no route" if error.status_code == 404 else "the route does not take"
            message = f"{verb} {request.method} {request.url.path}; the API is listed at /docs"
        return JSONResponse(
            error_body(message, kind), status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {}
        # `loc` starts with where the value was (body, path, query): the field name is enough.
        fields = [
            "body"
            if item.get("type") == "json_invalid"  # its loc is a character offset
            else ".".join(str(p) for p in item.get("loc", ())[1:] or item.get("loc", ()))
            for item in problems
        ]
        message = "; ".join(
            f"{name or 'body'}: {str(item.get('msg', 'invalid')).removeprefix('Value error, ')}"
            for name, item in zip(fields, problems, strict=True)
        )
        param = fields[0] if fields and first else None
        return JSONResponse(
            error_body(
                clean_message(message or "invalid request body"),
                "invalid_request_error",
                param=param,
            ),
            status_code=422,
        )


def _mount_uis(app: FastAPI, state: GatewayState, uis: Sequence[UiComponent]) -> None:
    import gradio as gr  # only gateways that serve UIs pay for importing Gradio

    from twincore.apps.theme import mount_options

    context = UiContext(router=state.router, settings=state.settings, services=state.services)
    for component in uis:
        blocks = component.builder()(context)
        # The access guard already admitted the caller; Gradio's own hook makes its API
        # (queue, upload, config, files) refuse anyone the guard did not admit.
        gr.mount_gradio_app(
            app,
            blocks,
            path=f"/ui/{component.name}",
            auth_dependency=gradio_user,
            **mount_options(component.name),
        )
        logger.info("UI %s mounted at /ui/%s", component.title, component.name)
