"""The AML REST API in the real gateway (in-process) over SQLite and real SmolLM2 cores:
ingest, detection, alerts with their subgraph, cases and narratives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from twincore.platform.cores import CoreServer
from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.embedded import build_embedded_app
from twincore.platform.settings import Settings
from twincore.services.aml import api
from twincore.services.aml.component import COMPONENTS
from twincore.services.aml.models import AmlAccount, AmlDataset, AmlTransaction

pytestmark = pytest.mark.anyio

AMLWORLD_HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def client(
    settings: Settings, smol_cores: dict[str, CoreServer]
) -> AsyncIterator[httpx.AsyncClient]:
    app, _state = build_embedded_app(settings, smol_cores, components=list(COMPONENTS))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway", timeout=300
    ) as http:
        yield http


def _row_counts(url: str) -> tuple[int, int, int]:
    engine = create_db_engine(url)
    with session_scope(session_factory(engine)) as session:
        counts = tuple(
            int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (AmlDataset, AmlAccount, AmlTransaction)
        )
    engine.dispose()
    return counts  # type: ignore[return-value]


async def test_a_malformed_csv_is_refused_with_line_numbers_and_nothing_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = "\n".join(
        [
            AMLWORLD_HEADER,
            "2022/09/01 00:20,10,8000EBD30,10,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,"
            "Reinvestment,0",
            "2022/09/01 00:21,10,8000EBD31,11,8000EBD32,-5,US Dollar,-5,US Dollar,Cheque,0",
            "not a date,10,8000EBD31,11,8000EBD32,10,US Dollar,10,US Dollar,Cheque,0",
            "2022/09/01 00:22,10,8000EBD31,11,8000EBD32,10,US Dollar,10,US Dollar,Cheque,7",
        ]
    )
    response = await client.post(
        "/v1/aml/datasets",
        files={"file": ("bad.csv", body.encode(), "text/csv")},
        data={"name": "bad"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith("rejected")
    issues = error["details"]["issues"]
    assert sorted({issue["line"] for issue in issues}) == [3, 4, 5]
    assert _row_counts(settings.database_url) == (0, 0, 0)


async def test_an_upload_over_the_limit_is_refused_with_413(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "MAX_UPLOAD_BYTES", 10)
    response = await client.post(
        "/v1/aml/datasets",
        files={"file": ("big.csv", AMLWORLD_HEADER.encode(), "text/csv")},
        data={"name": "big"},
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "file")
    assert "limited to" in error["message"]


async def test_detection_alerts_cases_and_narratives(client: httpx.AsyncClient) -> None:
    dataset = await client.post("/v1/aml/datasets/samples", json={"sample": "20K_fanin200"})
    assert dataset.status_code == 201, dataset.text
    assert dataset.json()["transactions"] == 118_250
    again = await client.post("/v1/aml/datasets/samples", json={"sample": "nope"})
    assert again.status_code == 404
    assert again.json()["error"]["type"] == "not_found_error"

    run = await client.post("/v1/aml/runs", json={"dataset_id": dataset.json()["id"], "budget": 20})
    assert run.status_code == 201, run.text
    assert run.json()["status"] == "done" and 0 < run.json()["alerts"] <= 20
    alerts = (await client.get(f"/v1/aml/runs/{run.json()['id']}/alerts")).json()
    scores = [a["score"] for a in alerts]
    assert scores == sorted(scores, reverse=True)
    assert all(a["reasons"] for a in alerts)

    alert = (await client.get(f"/v1/aml/alerts/{alerts[0]['id']}")).json()
    graph = alert["subgraph"]
    assert any(a["subject"] for a in graph["accounts"]) and graph["transactions"]
    times = [t["ts"] for t in graph["transactions"]]
    assert times == sorted(times)

    opened = await client.post(
        "/v1/aml/cases", json={"alert_id": alert["id"], "actor": "ana", "assignee": "ana"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    assert opened.json()["existing"] is False
    # The same account again: its existing case comes back (200), no second case is opened.
    twice = await client.post("/v1/aml/cases", json={"alert_id": alert["id"], "actor": "bo"})
    assert twice.status_code == 200 and twice.json()["existing"] is True
    assert twice.json()["id"] == case_id

    # Detection again: the same alerts keep their ids (and the case), seen by two runs.
    rerun = await client.post(
        "/v1/aml/runs", json={"dataset_id": dataset.json()["id"], "budget": 20}
    )
    assert rerun.json()["stats"]["new"] == 0
    again = (await client.get(f"/v1/aml/runs/{rerun.json()['id']}/alerts")).json()
    assert [a["id"] for a in again] == [a["id"] for a in alerts]
    assert again[0]["runs_seen"] == 2 and again[0]["case_id"] == case_id
    assert all(a["amount"] > 0 and a["hits"] >= 1 for a in again)
    exported = await client.get(f"/v1/aml/runs/{rerun.json()['id']}/alerts.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert lines[0].startswith("alert_id,rank,account") and len(lines) == len(again) + 1
    refused = await client.post(
        f"/v1/aml/cases/{case_id}/status", json={"status": "closed", "actor": "ana"}
    )
    assert refused.status_code == 422 and "reason" in refused.text
    moved = await client.post(
        f"/v1/aml/cases/{case_id}/status", json={"status": "investigating", "actor": "ana"}
    )
    assert moved.json()["status"] == "investigating"

    draft = await client.post(
        f"/v1/aml/cases/{case_id}/narratives/draft",
        json={"actor": "ana", "model": "swift", "max_tokens": 120},
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["version"] == 1 and draft.json()["core"] == "swift"
    assert draft.json()["text"] and "mismatches" in draft.json()["check"]
    # The escalation rides along: a pinned core only repairs, it never hands over to deep.
    block = draft.json()["twincore"]
    assert block["attempts"][0]["step"] == "first" and block["core"] == "swift"
    assert {a["core"] for a in block["attempts"]} == {"swift"}
    assert block["verdict"]["passed"] == (block["attempts"][-1]["verdict"] == "pass")

    facts = (await client.get(f"/v1/aml/cases/{case_id}/facts")).json()
    first = facts["transactions"][0]
    wrong_amount = f"{first['amount'] + 1234.5:,.2f}"
    edit = await client.post(
        f"/v1/aml/cases/{case_id}/narratives",
        json={"actor": "bo", "text": f"WHAT: {first['date']} a payment of {wrong_amount}."},
    )
    assert edit.json()["version"] == 2
    assert f"{wrong_amount} is not in the case facts" in edit.json()["check"]["mismatches"]
    assert edit.json()["twincore"] is None  # an analyst's edit is checked, not escalated

    case: dict[str, Any] = (await client.get(f"/v1/aml/cases/{case_id}")).json()
    assert [n["author"] for n in case["narratives"]] == ["ana", "bo"]
    assert [e["kind"] for e in case["events"]] == [
        "opened",
        "status",
        "narrative",
        "narrative",
    ]
    missing = await client.get("/v1/aml/cases/99999")
    assert missing.status_code == 404
