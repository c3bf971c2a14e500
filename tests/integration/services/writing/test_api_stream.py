"""`stream: true` on /v1/writing/compose and /rewrite over real HTTP (uvicorn on loopback) and a
real SmolLM2 core: tokens and checked drafts arrive before the stored result; bad input is a 4xx
before any event; a client that hangs up ends the generation and nothing is stored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from twincore.model_core.backends.native import NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.settings import Settings
from twincore.services.writing.component import COMPONENTS
from twincore.services.writing.generate.run import clean_reply
from twincore.services.writing.registry import get_style

HAIKU_STYLE = get_style("haiku")
HAIKU = {"style": "haiku", "topic": "autumn rain", "model": "swift", "stream": True}


@pytest.fixture(scope="module")
def http(
    tmp_path_factory: pytest.TempPathFactory, smol_cores: dict[str, CoreServer]
) -> Iterator[httpx.Client]:
    """One gateway for the module (its migrated database and server start cost seconds)."""
    root = tmp_path_factory.mktemp("writing-stream")
    settings = Settings(data_dir=root / "var", database_url=f"sqlite:///{root / 'twincore.db'}")
    upgrade(settings.database_url)
    app, _state = build_embedded_app(settings, smol_cores, components=list(COMPONENTS))
    with serve_in_background(app) as base, httpx.Client(base_url=base, timeout=300) as client:
        yield client


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, data) per server-sent event, as they arrive."""
    kind = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            assert data["event"] == kind
            yield kind, data


def test_compose_streams_tokens_drafts_then_the_stored_result(http: httpx.Client) -> None:
    body = {**HAIKU, "candidates": 2, "revise": True, "max_tokens": 24}
    with http.stream("POST", "/v1/writing/compose", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(read_events(response))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "result" and kinds.count("result") == 1
    assert events[0][1] == {"event": "start", "style": "haiku", "mode": "compose", "model": "swift"}
    drafts = [data for kind, data in events if kind == "draft"]
    assert [d["candidate"] for d in drafts if not d["revised"]] == [0, 1]
    for draft in drafts:  # each checked draft is the text its own tokens spelled
        tokens = [
            data["text"]
            for kind, data in events
            if kind == "token"
            and data["candidate"] == draft["candidate"]
            and data["revised"] == draft["revised"]
        ]
        assert tokens and clean_reply("".join(tokens), HAIKU_STYLE) == draft["text"]
        assert draft["core"] == "swift" and draft["report"]["constraints"]
    assert kinds.index("token") < kinds.index("draft")  # tokens stream before the check

    result = events[-1][1]["draft"]
    chosen = [d for d in drafts if d["text"] == result["text"]]
    assert chosen and result["report"] == chosen[0]["report"]
    assert result["style"] == "haiku" and result["similarity"] is None
    assert {"predicted_style", "id", "candidates", "ratings"} <= result.keys()
    stored = http.get(f"/v1/writing/drafts/{result['id']}").json()
    assert stored["text"] == result["text"] and stored["report"] == result["report"]
    # Each finished rung streams an `attempt` event; the result's block lists the same rungs.
    attempts = [data for kind, data in events if kind == "attempt"]
    block = result["twincore"]
    assert [a["step"] for a in attempts] == [a["step"] for a in block["attempts"]]
    assert (
        [a["core"] for a in attempts]
        == [a["core"] for a in block["attempts"]]
        == ["swift"] * len(attempts)
    )
    assert result["status"] == ("met" if result["report"]["passed"] else "unmet")
    assert stored["twincore"] == block and stored["status"] == result["status"]


def test_rewrite_streams_a_similarity_and_bad_input_is_refused_before_streaming(
    http: httpx.Client,
) -> None:
    body = {
        "style": "news",
        "text": "The town library reopened on Monday after a flood closed it for a month.",
        "model": "swift",
        "stream": True,
        "candidates": 1,
        "revise": False,
        "max_tokens": 32,
    }
    with http.stream("POST", "/v1/writing/rewrite", json=body) as response:
        events = list(read_events(response))
    result = events[-1][1]["draft"]
    assert events[-1][0] == "result" and result["mode"] == "rewrite"
    assert 0.0 <= result["similarity"] <= 1.0

    unknown = http.post("/v1/writing/compose", json={**HAIKU, "style": "ballad"})
    assert unknown.status_code == 404 and "unknown style" in unknown.json()["error"]["message"]
    assert unknown.headers["content-type"].startswith("application/json")
    empty = http.post("/v1/writing/compose", json={**HAIKU, "topic": "  "})
    assert empty.status_code == 422 and "topic is empty" in empty.text
    assert http.get("/v1/writing/drafts", params={"limit": 1}).json()[0]["id"] == result["id"]


def test_hanging_up_ends_the_run_and_stores_nothing(
    http: httpx.Client, smol_cores: dict[str, CoreServer]
) -> None:
    backend = smol_cores["swift"].backend
    assert isinstance(backend, NativeBackend)
    before = backend.engine.stats()["generated_tokens"]
    stored_before = http.get("/v1/writing/drafts").json()
    body = {**HAIKU, "topic": "a very long saga of the sea", "candidates": 1, "revise": False}
    with http.stream("POST", "/v1/writing/compose", json={**body, "max_tokens": 400}) as response:
        assert next(kind for kind, _ in read_events(response) if kind == "token")
    deadline = time.monotonic() + 10
    while (stats := backend.engine.stats())["running"] or stats["waiting"]:
        assert time.monotonic() < deadline, f"the engine still works after the hang-up: {stats}"
        time.sleep(0.05)
    assert stats["generated_tokens"] - before < 200  # stopped long before its 400 tokens
    assert http.get("/v1/writing/drafts").json() == stored_before
