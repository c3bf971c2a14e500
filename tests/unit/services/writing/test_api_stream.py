"""SSE framing of the writing stream and its error events: one `event:`/`data:` pair per event,
a failure after the stream began becomes an `error` event (the platform's type and plain
message, never a traceback, even when Ray wrapped the error), and the run is closed when the
body ends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.errors import INTERNAL_MESSAGE, Invalid, NotFound
from twincore.services.writing.api_stream import sse_event, stream_response

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_an_event_is_framed_with_its_kind_and_keeps_chinese_readable() -> None:
    framed = sse_event({"event": "token", "candidate": 0, "text": "床前明月光"})
    kind, data, end = framed.split("\n", 2)
    assert kind == "event: token" and end == "\n"
    assert json.loads(data.removeprefix("data: "))["text"] == "床前明月光"
    assert "床前明月光" in data


async def body_of(first: dict[str, Any], events: AsyncIterator[dict[str, Any]]) -> list[str]:
    response = stream_response(first, events)
    assert response.media_type == "text/event-stream"
    return [str(chunk) async for chunk in response.body_iterator]


class WrappedError(RuntimeError):
    """Shaped like Ray's `RayTaskError`: a traceback as text, the original as `cause`."""

    def __init__(self, cause: Exception) -> None:
        super().__init__('Traceback (most recent call last):\n  File "/srv/x.py", line 1')
        self.cause = cause


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (TwincoreError(503, "no core can serve"), "service_unavailable", "no core can serve"),
        (Invalid("bad count"), "invalid_request_error", "bad count"),
        (WrappedError(NotFound("no draft 7")), "not_found_error", "no draft 7"),
        (RuntimeError("boom at /srv/x.py"), "server_error", INTERNAL_MESSAGE),
    ],
)
async def test_a_failure_mid_stream_is_an_error_event_and_the_run_is_closed(
    error: Exception, kind: str, message: str
) -> None:
    closed = []

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"event": "token", "candidate": 0, "revised": False, "text": "An"}
            raise error
        finally:
            closed.append(True)

    chunks = await body_of({"event": "start"}, events())
    assert [c.split("\n")[0] for c in chunks] == ["event: start", "event: token", "event: error"]
    body = json.loads(chunks[-1].split("\n")[1].removeprefix("data: "))
    assert body["event"] == "error" and body["error"]["type"] == kind
    assert body["error"]["message"] == message and "Traceback" not in chunks[-1]
    assert closed == [True]
