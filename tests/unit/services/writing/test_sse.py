"""SSE framing of the writing stream and its error messages: one `event:`/`data:` pair per event,
a failure after the stream began becomes an `error` event, the run is closed when the body ends,
and a message is the original one even when Ray wrapped the error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from twincore.platform.chat_transport import TwincoreError
from twincore.services.writing.api_stream import sse_event, stream_response
from twincore.services.writing.errors import error_message

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


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (TwincoreError(503, "no core can serve"), "service_unavailable"),
        (ValueError("bad count"), "invalid_request_error"),
        (RuntimeError("boom"), "server_error"),
    ],
)
async def test_a_failure_mid_stream_is_an_error_event_and_the_run_is_closed(
    error: Exception, kind: str
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
    assert closed == [True]


class WrappedError(ValueError):
    """Shaped like Ray's `RayTaskError(ValueError)`: a traceback as text, the original as cause."""

    def __init__(self, cause: Exception) -> None:
        super().__init__("Traceback (most recent call last): ...")
        self.cause = cause


def test_error_messages_are_the_original_ones() -> None:
    assert error_message(KeyError("unknown style 'ballad'")) == "unknown style 'ballad'"
    assert error_message(WrappedError(ValueError("the topic is empty"))) == "the topic is empty"
    assert error_message(WrappedError(KeyError("unknown style 'x'"))) == "unknown style 'x'"
    assert error_message(TwincoreError(503, "no core can serve")) == "no core can serve"
