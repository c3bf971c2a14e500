"""The writing REST API in the real gateway (in-process) over SQLite and a real SmolLM2 core:
styles, compose, drafts, ratings and their averages; bad input refused and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app
from twincore.platform.settings import Settings
from twincore.services.writing.component import COMPONENTS

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> AsyncIterator[httpx.AsyncClient]:
    app, _state = build_embedded_app(make_settings(), smol_cores, components=list(COMPONENTS))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=600) as http:
        yield http


async def test_compose_rate_and_average(client: httpx.AsyncClient) -> None:
    styles = (await client.get("/v1/writing/styles")).json()
    assert len(styles) == 12 and {"haiku", "sonnet", "wujue"} <= {s["id"] for s in styles}
    haiku = (await client.get("/v1/writing/styles/haiku")).json()
    assert len(haiku["exemplars"]) >= 3 and haiku["ratings"] == {"count": 0, "average": None}

    body = {"style": "haiku", "topic": "autumn rain", "model": "swift", "max_tokens": 24}
    composed = await client.post(
        "/v1/writing/compose", json={**body, "candidates": 1, "revise": False}
    )
    assert composed.status_code == 200, composed.text
    draft = composed.json()
    assert draft["style"] == "haiku" and draft["core"] == "swift" and draft["text"]
    assert draft["report"]["constraints"] and 0.0 <= draft["report"]["score"] <= 1.0
    assert draft["predicted_style"] in {s["id"] for s in styles}
    assert draft["similarity"] is None  # compose has no source to preserve

    rated = await client.post(f"/v1/writing/drafts/{draft['id']}/ratings", json={"stars": 4})
    assert rated.json()["ratings"] == {"count": 1, "average": 4.0}
    await client.post(f"/v1/writing/drafts/{draft['id']}/ratings", json={"stars": 1})
    assert (await client.get("/v1/writing/ratings")).json() == {
        "haiku": {"count": 2, "average": 2.5}
    }
    assert (await client.get("/v1/writing/styles/haiku")).json()["ratings"]["average"] == 2.5

    for bad in ({"stars": 0}, {"stars": 6}, {"stars": "5"}, {}):
        refused = await client.post(f"/v1/writing/drafts/{draft['id']}/ratings", json=bad)
        assert refused.status_code == 422, bad
    missing = await client.post("/v1/writing/drafts/999/ratings", json={"stars": 3})
    assert missing.status_code == 404 and "no draft 999" in missing.text
    unknown = await client.post("/v1/writing/compose", json={**body, "style": "ballad"})
    assert unknown.status_code == 404 and "unknown style" in unknown.text
    empty = await client.post("/v1/writing/compose", json={**body, "topic": "   "})
    assert empty.status_code == 422 and "topic is empty" in empty.text
    assert (await client.post("/v1/writing/rewrite", json=body)).status_code == 422  # no text
    assert (await client.get("/v1/writing/drafts/999")).status_code == 404
    stored = (await client.get("/v1/writing/drafts")).json()
    assert [d["id"] for d in stored] == [draft["id"]]  # refused requests stored nothing
    assert stored[0]["ratings"] == {"count": 2, "average": 2.5}
