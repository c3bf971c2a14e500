"""The gateway's shared state and its FastAPI dependencies (auth, rate limit, request record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from twincore.platform.gateway.access import bearer_token, scope_principal
from twincore.platform.gateway.metrics import GatewayMetrics
from twincore.platform.gateway.ratelimit import RateLimiter, retry_after_header
from twincore.platform.gateway.security import Authenticator, AuthError, Principal
from twincore.platform.gateway.tracking import RequestLogWriter, RequestRecord
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings


class ApiError(Exception):
    """An error answered as OpenAI's error object with this status."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param = status, message, type_, param
        self.headers = headers or {}


@dataclass
class GatewayState:
    """Everything the routes share; one per gateway (replica or in-process app)."""

    settings: Settings
    router: RouterClient
    auth: Authenticator
    limiter: RateLimiter
    metrics: GatewayMetrics
    log_writer: RequestLogWriter
    services: dict[str, Any] = field(default_factory=dict)
    model_info: dict[str, dict[str, Any]] = field(default_factory=dict)


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]


def current_record(request: Request) -> RequestRecord:
    """The tracking middleware's record of this request (a detached one off tracked paths)."""
    record = request.scope.get("twincore.record")
    if record is None:
        record = RequestRecord(request_id="untracked", method=request.method, path="")
    return record


async def authorize(request: Request, state: State) -> Principal:
    """The caller the access guard admitted (or, in an app without the guard, authenticated
    here), after taking one token from its rate-limit bucket."""
    principal = scope_principal(request.scope)
    if principal is None:
        host = request.client.host if request.client else None
        try:
            principal = await state.auth.authenticate(
                bearer_token(request.headers.get("authorization")), host
            )
        except AuthError as error:
            raise ApiError(
                401, str(error), "authentication_error", headers={"WWW-Authenticate": "Bearer"}
            ) from error
    current_record(request).api_key_id = principal.key_id
    wait = await state.limiter.acquire(principal.bucket)
    if wait is not None:
        limit = state.limiter.limit
        raise ApiError(
            429,
            f"rate limit exceeded for {principal.name}: "
            f"{limit.per_minute:g} requests per minute, "
            f"burst {limit.burst}; retry in {wait:.1f}s",
            "rate_limit_exceeded",
            headers={"Retry-After": retry_after_header(wait)},
        )
    return principal


Caller = Annotated[Principal, Depends(authorize)]
