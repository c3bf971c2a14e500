"""The writing screen's handlers over a fake service client: events become the screen's values
(the streaming text without echoed rules, an unmet run as an attempt with its verdict and the
"Try again" button), and any failure (however wrapped) becomes one plain sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
import pytest

from twincore.apps import writing
from twincore.platform.errors import Invalid
from twincore.services.writing.checkers import check_text
from twincore.services.writing.generate.drafts import report_dict
from twincore.services.writing.registry import get_style

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


SIX_SYLLABLES = "An ancient stone lantern\nholds a puddle of spring rain\na frog wakes inside"


def unmet_run() -> list[dict[str, Any]]:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    where = {"attempt": 0, "step": "first", "candidate": 0, "revised": False, "core": "swift"}
    pieces = ["- three lines\n", "- 5-7-5 syllables\n", SIX_SYLLABLES]
    draft = {"id": 3, "style": "haiku", "status": "unmet", "text": SIX_SYLLABLES,
             "report": report, "core": "swift", "predicted_style": "haiku", "similarity": None,
             "created_at": "2025-12-05T19:32:10.123456", "twincore": None}  # fmt: skip
    return [
        {"event": "start", "style": "haiku", "mode": "compose", "model": "swift"},
        *({"event": "token", **where, "text": piece} for piece in pieces),
        {"event": "draft", **where, "text": SIX_SYLLABLES, "report": report},
        {"event": "result", "draft": draft},
    ]


async def test_an_unmet_run_is_an_attempt_with_its_reasons_and_try_again() -> None:
    values = await collect(FakeWriting(unmet_run()))
    progress, text, verdict, again, rows, predicted, draft_id = values[-1]
    # While it streams, the rules the model repeated are not shown as the text.
    streamed = [v[1]["value"] for v in values if isinstance(v[1], dict) and v[1].get("label")]
    assert streamed[1] == "" and streamed[-2] == SIX_SYLLABLES
    assert values[2][1]["label"] == "Being written: candidate 1 on the swift core"
    assert text["value"] == SIX_SYLLABLES and text["label"].startswith("Best attempt: unmet")
    assert "Unmet" in verdict and "**5-7-5 syllables**: line 1 has 6 syllables" in verdict
    assert "Saved as draft 3, 5 Dec 2025 19:32." in verdict
    assert again["visible"] is True and draft_id == 3
    assert rows[1][:2] == ["5-7-5 syllables", "unmet"]
    assert progress.endswith("unmet: saved as draft 3") and predicted.startswith("Haiku: ")


async def test_try_again_sends_a_new_seed() -> None:
    sent: list[dict[str, Any]] = []

    class Recording(FakeWriting):
        async def stream_call(self, method: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
            sent.append(fields)
            async for event in super().stream_call(method):
                yield event

    service = Recording(unmet_run())
    tries = writing.next_try(writing.next_try(0))
    run = writing.write_again(service, "haiku", "compose", "swift", "rain", 0, 64, True, tries)
    assert [v async for v in run][-1][6] == 3
    assert sent[0]["seed"] == 2 and sent[0]["prompt"] == "rain"


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
