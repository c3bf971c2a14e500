"""The writing screen's handlers over a fake service client: events become the screen's values,
and any failure (however wrapped) becomes one plain sentence in a `gr.Error`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
import pytest

from twincore.apps import writing
from twincore.platform.errors import Invalid

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RayWrappedError(RuntimeError):
    """Shaped like Ray's wrapper: a traceback as text, the service's error as `cause`."""

    def __init__(self, cause: Exception) -> None:
        super().__init__('Traceback (most recent call last):\n  File "/srv/service.py"')
        self.cause = cause


class FakeWriting:
    def __init__(self, events: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.events, self.error = events, error

    async def stream_call(self, method: str, **_: Any) -> AsyncIterator[dict[str, Any]]:
        assert method == "write_events"
        for event in self.events:
            yield event
        if self.error is not None:
            raise self.error


async def collect(service: FakeWriting, prompt: str = "rain") -> list[tuple[Any, ...]]:
    run = writing.write(service, "haiku", "compose", "swift", prompt, 0, 64, True)
    return [values async for values in run]


async def test_a_failure_is_one_plain_sentence() -> None:
    service = FakeWriting([], RayWrappedError(Invalid("the topic is empty")))
    with pytest.raises(gr.Error) as raised:
        await collect(service, "  ")
    assert raised.value.message == "The topic is empty"


async def test_a_crash_mid_run_shows_no_traceback() -> None:
    start = {"event": "start", "style": "haiku", "mode": "compose", "model": "swift"}
    service = FakeWriting([start], RuntimeError("boom in /srv/service.py"))
    with pytest.raises(gr.Error) as raised:
        await collect(service)
    assert "Traceback" not in raised.value.message and "/srv" not in raised.value.message


async def test_rating_needs_a_draft_and_stars() -> None:
    with pytest.raises(gr.Error, match="Write a text first"):
        await writing.rate(FakeWriting([]), None, "4")
    with pytest.raises(gr.Error, match="Pick 1 to 5"):
        await writing.rate(FakeWriting([]), 1, None)
