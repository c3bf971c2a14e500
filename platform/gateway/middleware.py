"""Tracking middleware (pure ASGI, so streaming bodies pass untouched): request id, timing,
metrics and one request-log row per API request once its response has ended."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twincore.platform.gateway.deps import GatewayState
from twincore.platform.gateway.service_tracking import CANCELLED, current_record
from twincore.platform.gateway.tracking import RequestRecord
from twincore.platform.logs import redact_secrets, request_id_var

# Health probes, metrics scrapes, docs and UI assets would drown the log; API calls are kept.
TRACKED_PREFIXES = ("/v1/",)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class TrackingMiddleware:
    def __init__(self, app: ASGIApp, state: GatewayState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Behind a route prefix (Serve's route_prefix, a reverse proxy) the path carries it.
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if scope["type"] != "http" or not path.startswith(TRACKED_PREFIXES):
            await self.app(scope, receive, send)
            return
        given = _given_request_id(scope)
        record = RequestRecord(
            request_id=given or f"req-{uuid.uuid4().hex[:20]}", method=scope["method"], path=path
        )
        scope["twincore.record"] = record
        token = request_id_var.set(record.request_id)
        record_token = current_record.set(record)
        started = time.perf_counter()

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status_code = message["status"]
                if given is None:  # a given id is echoed by whoever gave it (Serve's proxy does)
                    headers = list(message.get("headers", []))
                    headers.append((b"x-request-id", record.request_id.encode()))
                    message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except asyncio.CancelledError:
            # The client went away (closed its stream, pressed stop): not a server failure.
            record.status_code, record.error = 499, record.error or CANCELLED
            raise
        except BaseException as error:
            record.error = record.error or f"{type(error).__name__}: {error}"
            raise
        finally:
            record.duration_ms = (time.perf_counter() - started) * 1000
            self._finish(record, started)
            request_id_var.reset(token)
            current_record.reset(record_token)

    def _finish(self, record: RequestRecord, started: float) -> None:
        # Fields that quote the request (an unknown model, an exception's message) may hold a
        # key that a client pasted in the wrong place.
        if record.error:
            record.error = redact_secrets(record.error)
        if record.model:
            record.model = redact_secrets(record.model)
        metrics, core = self.state.metrics, record.core or "none"
        endpoint = record.path.removeprefix("/v1/")[:64]
        metrics.requests.labels(endpoint, core, str(record.status_code)).inc()
        metrics.latency.labels(core).observe(record.duration_ms / 1000)
        if record.first_token_s is not None:
            metrics.first_token.labels(core).observe(record.first_token_s - started)
        if record.core:
            metrics.tokens.labels(core, "prompt").inc(record.prompt_tokens)
            metrics.tokens.labels(core, "completion").inc(record.completion_tokens)
        self.state.log_writer.submit(record)


def _given_request_id(scope: Scope) -> str | None:
    """The caller's (or Serve proxy's) X-Request-ID when it is a safe token."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            return given if _SAFE_ID.match(given) else None
    return None
