"""How a screen calls its service: any failure becomes one plain sentence in a Gradio toast."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import gradio as gr

from twincore.platform.errors import user_message

T = TypeVar("T")


async def shown(call: Awaitable[T]) -> T:
    """Await a service call; a failure is raised as `gr.Error` with one plain sentence (never a
    traceback, ANSI code or server path). The toast stays until the user closes it: some
    messages are worth reading twice (a rejected upload names its bad lines)."""
    try:
        return await call
    except Exception as error:
        raise gr.Error(user_message(error), duration=None) from error


async def shown_stream(items: AsyncIterator[T]) -> AsyncIterator[T]:
    """The items of a streamed service call; a failure mid-stream is shown as in `shown`."""
    try:
        async for item in items:
            yield item
    except Exception as error:
        raise gr.Error(user_message(error), duration=None) from error
