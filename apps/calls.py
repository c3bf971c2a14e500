"""How a screen calls its service and shows what happened, the same way in every app.

A failure becomes one plain sentence in a toast (never a traceback, ANSI code or server path).
Handlers wrapped in `friendly` show it as a toast and leave their outputs as they were: a raised
`gr.Error` would also mark every output component with a red "Error" badge that stays after the
next successful action elsewhere on the screen.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import gradio as gr

from twincore.platform.errors import user_message

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


async def shown(call: Awaitable[T]) -> T:
    """Await a service call; a failure is raised as `gr.Error` with one plain sentence."""
    try:
        return await call
    except gr.Error:
        raise
    except Exception as error:
        raise gr.Error(user_message(error), duration=None) from error


async def shown_stream(items: AsyncIterator[T]) -> AsyncIterator[T]:
    """The items of a streamed service call; a failure mid-stream is shown as in `shown`."""
    try:
        async for item in items:
            yield item
    except gr.Error:
        raise
    except Exception as error:
        raise gr.Error(user_message(error), duration=None) from error


def _toast(error: Exception) -> None:
    message = error.message if isinstance(error, gr.Error) else user_message(error)
    # Stays until closed: some messages are worth reading twice (a rejected upload's bad lines).
    gr.Warning(str(message), duration=None)


def friendly(handler: F) -> F:
    """Wrap an event handler (function, coroutine or async generator): any failure, including a
    `gr.Error` raised by `shown`, becomes a toast and the handler's outputs keep their values
    (`gr.skip()`), so no component is left marked "Error". The wrapper is marked
    `twincore_friendly` (tests check every screen's handlers)."""
    if inspect.isasyncgenfunction(handler):

        @functools.wraps(handler)
        async def stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            try:
                async for item in handler(*args, **kwargs):
                    yield item
            except Exception as error:
                _toast(error)
                yield gr.skip()

        stream.twincore_friendly = True  # type: ignore[attr-defined]
        return cast(F, stream)
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(*args, **kwargs)
            except Exception as error:
                _toast(error)
                return gr.skip()

        call.twincore_friendly = True  # type: ignore[attr-defined]
        return cast(F, call)

    @functools.wraps(handler)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as error:
            _toast(error)
            return gr.skip()

    plain.twincore_friendly = True  # type: ignore[attr-defined]
    return cast(F, plain)


def friendly_time(value: datetime | str | None, *, now: datetime | None = None) -> str:
    """A timestamp as people read it: "today 19:32", "5 Dec 19:32" this year, else
    "5 Dec 2025 19:32" (UTC; never ISO with microseconds). None or "" reads "—"."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the databases store naive UTC
    moment = moment.astimezone(UTC)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    clock = moment.strftime("%H:%M")
    if moment.date() == now.date():
        return f"today {clock}"
    day = f"{moment.day} {moment.strftime('%b')}"
    if moment.year == now.year:
        return f"{day} {clock}"
    return f"{day} {moment.year} {clock}"
