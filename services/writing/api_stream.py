"""Server-sent events for the writing routes' `stream: true` mode.

Each service event goes out as `event: <kind>` with its JSON as `data` (`start`, `token`,
`draft`, `result`); a failure after the stream began is an `error` event with OpenAI's error
object (the status line is already sent), described as the gateway would describe it: a plain
message, never a traceback. Bad input fails before the first event, so it still gets its 4xx.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from twincore.platform.errors import describe
from twincore.platform.gateway.responses import error_body

logger = logging.getLogger(__name__)


def error_event(error: BaseException) -> dict[str, Any]:
    """The `error` event for a failure mid-stream: OpenAI's error object (with `details` when
    the service gave some)."""
    status, kind, message, param, details = describe(error)
    if status >= 500:
        logger.error("writing stream failed", exc_info=error)
    event = {"event": "error", **error_body(message, kind, param=param)}
    if details:
        event["error"]["details"] = details
    return event


def sse_event(event: dict[str, Any]) -> str:
    """One event in SSE framing; the JSON (one line) also carries its `event` kind."""
    return f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


async def _body(first: dict[str, Any], events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    try:
        yield sse_event(first)
        async for event in events:
            yield sse_event(event)
    except Exception as error:  # the status is sent: the client learns of the failure here
        yield sse_event(error_event(error))
    finally:
        # A client that hangs up closes this body; closing the events ends the generation.
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def stream_response(
    first: dict[str, Any], events: AsyncIterator[dict[str, Any]]
) -> StreamingResponse:
    """The SSE response for a run whose first event (`start`, after validation) is in hand."""
    return StreamingResponse(
        _body(first, events),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
