"""The support REST API in the real gateway (in-process) over SQLite and the shared embedded
Northwind graph: ask with citations, conversations, escalation, tickets, schema, stats, and an
empty graph refused or loaded."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable
from typing import get_args

import httpx
import pytest

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.components import ServiceComponent
from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.support.api import TicketStatus, build_api
from twincore.services.support.knowledge.northwind import (
    DATA_DIR,
    LoadReport,
    count_nodes,
    load_northwind,
)
from twincore.services.support.models import TICKET_STATUSES
from twincore.services.support.service import SupportService

pytestmark = pytest.mark.anyio


def _unreachable() -> dict[str, CoreServer]:
    """Cores nobody answers at: templates need no model, free-form questions must escalate."""
    return {
        name: CoreServer.from_backend(
            OpenAIBackend(name, base_url="http://127.0.0.1:9/v1", model=name, max_retries=0)
        )
        for name in ("deep", "swift")
    }


def _component(store: FalkorDBStore, *, autoload: bool | None = None) -> ServiceComponent:
    def factory(router: RouterClient, settings: Settings) -> SupportService:
        return SupportService(router, settings, store=store, autoload=autoload)

    return ServiceComponent(name="support", factory=factory, api=build_api)


async def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=120)


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], northwind: tuple[FalkorDBStore, LoadReport]
) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = build_embedded_app(
        make_settings(), _unreachable(), components=[_component(northwind[0])]
    )
    async with await _client(app) as http:
        yield http


async def test_refuses_bad_input_then_asks_cites_escalates_and_tracks_tickets(
    client: httpx.AsyncClient,
) -> None:
    # Bad input first: each is refused with a message and leaves nothing behind.
    cases = [
        ("post", "/v1/support/ask", {"question": ""}, 422),
        ("post", "/v1/support/ask", {"question": "   "}, 422),
        ("post", "/v1/support/ask", {"question": "x" * 2001}, 422),
        ("post", "/v1/support/ask", {"question": "order 10248?", "conversation_id": 999}, 404),
        ("post", "/v1/support/conversations/999/not-solved", None, 404),
        ("post", "/v1/support/conversations/999/solved", None, 404),
        ("patch", "/v1/support/tickets/1", {"status": "done"}, 422),
        ("patch", "/v1/support/tickets/999", {"status": "closed"}, 404),
    ]
    for method, path, body, status in cases:
        response = await client.request(method, path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.json()["error"]["message"]
    missing = await client.get("/v1/support/conversations/999")
    assert missing.status_code == 404 and "conversation 999" in missing.json()["error"]["message"]
    assert (await client.get("/v1/support/conversations")).json() == []
    assert (await client.get("/v1/support/tickets")).json() == []
    assert (await client.get("/v1/support/stats")).json()["resolution_rate"] is None

    with (DATA_DIR / "orders.csv").open(encoding="utf-8") as fh:
        order = next(o for o in csv.DictReader(fh) if o["orderID"] == "10248")
    ok = await client.post("/v1/support/ask", json={"question": "Status of my order 10248?"})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["resolved"] and body["intent"] == "order_status" and body["ticket"] is None
    # Rows came back from a template, but nobody checked they answer it: not yet resolved.
    assert body["status"] == "answered" and not body["verified"]
    assert order["shippedDate"][:10] in body["answer"] and "[1]" in body["answer"]
    assert body["citations"] == [{"index": 1, "label": "Order", "key": "10248"}]
    assert "LIMIT" in body["cypher"] and body["cypher_ran"]
    assert body["rows"][0]["orderID"] == "10248"
    nodes = {n["id"]: n for n in body["subgraph"]["nodes"]}
    assert nodes["Order:10248"]["cited"] and f"Customer:{order['customerID']}" in nodes
    assert {
        "src": f"Customer:{order['customerID']}",
        "dst": "Order:10248",
        "type": "PURCHASED",
    } in (body["subgraph"]["edges"])
    conv = body["conversation_id"]

    miss = await client.post(
        "/v1/support/ask", json={"question": "and order 99999?", "conversation_id": conv}
    )
    assert miss.status_code == 200 and miss.json()["conversation_id"] == conv
    assert not miss.json()["resolved"] and miss.json()["citations"] == []
    assert miss.json()["ticket"]["reason"] == "empty_result"

    # A free-form question needs the core; a core that is down escalates, it does not 500.
    free = await client.post("/v1/support/ask", json={"question": "Which country buys most?"})
    assert free.status_code == 200, free.text
    assert not free.json()["resolved"] and "unavailable" in free.json()["answer"]
    assert free.json()["ticket"]["reason"] == "no_valid_query"
    assert not free.json()["cypher_ran"]

    shown = (await client.get(f"/v1/support/conversations/{conv}")).json()
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"] * 2
    assert shown["messages"][1]["citations"] == [{"index": 1, "label": "Order", "key": "10248"}]
    assert shown["status"] == "unresolved" and len(shown["tickets"]) == 1

    escalated = await client.post(f"/v1/support/conversations/{conv}/not-solved")
    assert escalated.status_code == 200 and escalated.json()["reason"] == "user_not_solved"
    assert "user: Status of my order 10248?" in escalated.json()["transcript"]
    # The conversation's open ticket (empty result) is updated, not doubled.
    assert escalated.json()["id"] == miss.json()["ticket"]["id"]
    tickets = (await client.get("/v1/support/tickets")).json()
    assert [t["reason"] for t in tickets] == ["no_valid_query", "user_not_solved"]
    assert tickets[1]["questions"] == ["Status of my order 10248?", "and order 99999?"]
    moved = await client.patch(
        f"/v1/support/tickets/{tickets[0]['id']}", json={"status": "in_progress"}
    )
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
    open_only = (await client.get("/v1/support/tickets", params={"status": "open"})).json()
    assert len(open_only) == 1
    listed = (await client.get("/v1/support/conversations")).json()
    assert [c["id"] for c in listed] == [conv + 1, conv]
    stats = (await client.get("/v1/support/stats")).json()
    assert stats["conversations"] == 2 and stats["resolved"] == 0
    assert stats["resolution_rate"] == 0.0
    assert stats["tickets"] == {"total": 2, "open": 1, "in_progress": 1}

    confirmed = await client.post(f"/v1/support/conversations/{conv}/solved")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "resolved"
    assert [t["status"] for t in confirmed.json()["tickets"]] == ["closed"]
    assert (await client.get("/v1/support/stats")).json()["resolution_rate"] == 0.5

    schema = (await client.get("/v1/support/schema")).json()
    assert schema["backend"] == "falkordb"
    assert schema["node_properties"]["Order"]["freight"] == "FLOAT"
    assert schema["relationships"]["PURCHASED"] == [["Customer", "Order"]]
    assert "quantity" in schema["rel_properties"]["ORDERS"]


def test_ticket_statuses_of_the_api_are_the_models() -> None:
    assert get_args(TicketStatus) == TICKET_STATUSES


async def test_empty_graph_is_refused_or_loaded(
    make_settings: Callable[..., Settings], northwind: tuple[FalkorDBStore, LoadReport]
) -> None:
    store, report = northwind
    settings = make_settings()
    store.clear()
    try:
        for autoload in (False, True):
            app, _ = build_embedded_app(
                settings, _unreachable(), components=[_component(store, autoload=autoload)]
            )
            async with await _client(app) as http:
                asked = await http.post("/v1/support/ask", json={"question": "order 10248?"})
                if not autoload:
                    assert asked.status_code == 409, asked.text
                    message = asked.json()["error"]["message"]
                    assert "twincore support load northwind" in message
                    assert (await http.get("/v1/support/schema")).status_code == 409
                else:
                    assert asked.status_code == 200 and asked.json()["resolved"], asked.text
        assert count_nodes(store) == report.nodes
    finally:
        if count_nodes(store) != report.nodes:  # leave the shared graph as the others expect it
            load_northwind(store)
