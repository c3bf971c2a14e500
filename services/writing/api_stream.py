"""Server-sent events for the writing routes' `stream: true` mode.

Each service event goes out as `event: <kind>` with its JSON as `data` (`start`, `token`,
`draft`, `result`); a failure after the stream began is an `error` event with OpenAI's error
object, since the status line is already sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.gateway.responses import error_body

logger = logging.getLogger(__name__)


def sse_event(event: dict[str, Any]) -> str:
    """One event in SSE framing; the JSON (one line) also carries its `event` kind."""
    return f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


async def _body(first: dict[str, Any], events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    try:
        yield sse_event(first)
        async for event in events:
            yield sse_event(event)
    except TwincoreError as error:
        yield sse_event({"event": "error", **error_body(error.message, "service_unavailable")})
    except (LookupError, ValueError) as error:
        yield sse_event({"event": "error", **error_body(str(error), "invalid_request_error")})
    except Exception as error:  # the status is sent: the client learns of the failure here
        logger.exception("writing stream failed")
        yield sse_event(
            {"event": "error", **error_body(f"the run failed: {error}", "server_error")}
        )
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
