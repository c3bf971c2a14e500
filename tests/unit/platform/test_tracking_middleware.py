"""The request log's middleware: a request the client abandoned is logged as cancelled (499),
not as a server failure with a bare `CancelledError:`."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from twincore.platform.gateway.deps import GatewayState
from twincore.platform.gateway.metrics import GatewayMetrics
from twincore.platform.gateway.middleware import TrackingMiddleware
from twincore.platform.gateway.tracking import RequestRecord


class _Writer:
    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def submit(self, record: RequestRecord) -> None:
        self.records.append(record)


def _run(app: Any, raised: type[BaseException]) -> RequestRecord:
    writer = _Writer()
    state = cast(GatewayState, SimpleNamespace(metrics=GatewayMetrics(), log_writer=writer))
    middleware = TrackingMiddleware(app, state)
    scope = {"type": "http", "path": "/v1/chat/completions", "method": "POST", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    with pytest.raises(raised):  # the middleware logs and re-raises
        asyncio.run(middleware(scope, receive, send))
    (record,) = writer.records
    return record


def test_an_abandoned_request_is_logged_as_cancelled() -> None:
    async def streams_then_is_cancelled(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise asyncio.CancelledError

    record = _run(streams_then_is_cancelled, asyncio.CancelledError)
    assert (record.status_code, record.error) == (499, "cancelled by client")


def test_a_failure_keeps_its_name() -> None:
    async def fails(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    record = _run(fails, RuntimeError)
    assert (record.status_code, record.error) == (500, "RuntimeError: boom")
