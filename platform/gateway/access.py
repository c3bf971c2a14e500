"""The gateway's door: every route but the health probes and the login form needs a caller.

A pure ASGI middleware, so it also covers what FastAPI's dependencies never see: the Gradio
screens under /ui/* and Gradio's own API (queue, uploads, config, files), /docs, /openapi.json
and /metrics. A caller is a bearer key, a session cookie from /login, or (dev mode only) a
loopback client. The principal is left in the scope for the routes' rate limit and for Gradio's
`auth_dependency`.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from twincore.platform.gateway.responses import error_body
from twincore.platform.gateway.security import (
    SESSION_COOKIE,
    Authenticator,
    AuthError,
    Principal,
)

# Load balancers and container health checks call these without credentials; they say whether
# the gateway answers, nothing about any caller's data.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/login"})
PRINCIPAL_SCOPE_KEY = "twincore.principal"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def scope_principal(scope: Scope) -> Principal | None:
    principal: Principal | None = scope.get(PRINCIPAL_SCOPE_KEY)
    return principal


class AccessGuard:
    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app, self.auth = app, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        client = scope.get("client")
        try:
            principal = await self.auth.authenticate(
                bearer_token(headers.get("authorization")),
                client[0] if client else None,
                session=session or None,
            )
        except AuthError as error:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _refusal(scope, headers, path, str(error))(scope, receive, send)
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal
        record = scope.get("twincore.record")
        if record is not None:
            record.api_key_id = principal.key_id
        await self.app(scope, receive, send)


def _refusal(scope: Scope, headers: Headers, path: str, message: str) -> Response:
    """A browser opening a page is sent to the login form; an API client gets a 401."""
    wants_page = scope["method"] == "GET" and "text/html" in headers.get("accept", "")
    if wants_page and not path.startswith("/v1/"):
        root = scope.get("root_path", "")
        return RedirectResponse(f"{root}/login?next={quote(root + path)}", status_code=303)
    return JSONResponse(
        error_body(message, "authentication_error"),
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def gradio_user(request: object) -> str | None:
    """Gradio's `auth_dependency`: the caller the guard admitted, so Gradio's own checks (queue,
    upload, config, files) agree with it and handlers see the key's name as the user."""
    scope: Scope = getattr(request, "scope", {})
    principal = scope_principal(scope)
    return None if principal is None else principal.name
