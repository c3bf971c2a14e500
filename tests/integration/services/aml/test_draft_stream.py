"""A SAR draft streamed from real SmolLM2 cores: its text arrives token by token, the stored
narrative is the text that was streamed, and a stream closed early (Cancel) stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twincore.platform.cores import CoreServer
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.platform.settings import Settings
from twincore.services.aml.service import AmlService

pytestmark = pytest.mark.anyio


async def test_a_draft_streams_its_text_and_a_cancelled_one_stores_nothing(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    service = AmlService(router, make_settings())
    dataset = service.ingest_sample("20K_fanin200")
    run = service.run_detection(dataset["id"], budget=1)
    alert = service.list_alerts(run["id"])[0]
    case = service.open_case(alert["id"], actor="ana")

    events: list[dict[str, Any]] = [
        event
        async for event in service.draft_events(
            case["id"], actor="ana", model="swift", max_tokens=60
        )
    ]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[1] == "attempt_start" and kinds[-1] == "result"
    assert kinds.count("token") > 1  # streamed, not one block at the end
    # Each attempt's streamed tokens are its text; the stored narrative is one of them.
    texts, current = [], ""
    for event in events:
        if event["event"] == "attempt_start":
            current = ""
        elif event["event"] == "token":
            current += event["text"]
        elif event["event"] == "attempt":
            texts.append(current.strip())
            assert event["core"] == "swift"
    stored = events[-1]["narrative"]
    assert stored["version"] == 1 and stored["text"] in texts

    stream = service.draft_events(case["id"], actor="ana", model="swift", max_tokens=60)
    async for event in stream:
        if event["event"] == "token":
            break
    await stream.aclose()
    assert [n["version"] for n in service.list_narratives(case["id"])] == [1]
    service.close()
