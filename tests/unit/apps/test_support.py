"""The support screen's handlers over a stand-in service: who answered and whether it counts,
feedback in the chat, tickets with the customer's question and friendly times, the ticket
picker starting empty, every handler friendly, and the subgraph picture keeping its names."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import gradio as gr

from twincore.apps.support import (
    LOOKING,
    ask,
    build,
    not_solved,
    ticket_views,
)
from twincore.apps.support_graph import subgraph_figure
from twincore.platform.components import UiContext
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings

OPENED = "2025-03-05T19:32:10.123456+00:00"
TICKET = {
    "id": 7,
    "conversation_id": 3,
    "created_at": OPENED,
    "status": "in_progress",
    "reason": "user_not_solved",
    "questions": ["What is the status of order 10248?"],
    "transcript": "user: What is the status of order 10248?",
}
SUBGRAPH = {
    "nodes": [
        {"id": "Order:1", "label": "Order", "key": "1", "name": "Order 1", "cited": True},
        {
            "id": "Customer:V",
            "label": "Customer",
            "key": "V",
            "name": "Vins et alcools Chevalier",
            "cited": False,
        },
        {"id": "Shipper:3", "label": "Shipper", "key": "3", "name": "Federal", "cited": False},
    ],
    "edges": [
        {"src": "Customer:V", "dst": "Order:1", "type": "PURCHASED"},
        {"src": "Order:1", "dst": "Shipper:3", "type": "SHIPPED_BY"},
    ],
}


def _reply(status: str, *, core: str | None = None, ticket: dict[str, Any] | None = None) -> Any:
    return {
        "conversation_id": 3,
        "status": status,
        "verified": status == "resolved",
        "answer": "Order 1 shipped [1]." if status != "unresolved" else "I found nothing.",
        "intent": "order_status" if core is None else "text2cypher",
        "resolved": status != "unresolved",
        "citations": [{"index": 1, "label": "Order", "key": "1"}],
        "cypher": "MATCH (o:Order) RETURN o LIMIT 1",
        "cypher_ran": True,
        "error": None,
        "core": core,
        "ticket": ticket,
        "subgraph": SUBGRAPH,
        "twincore": None,
    }


class FakeSupport:
    """The service's awaited methods, answering what the test set."""

    def __init__(self, reply: dict[str, Any] | None = None) -> None:
        self.reply = reply
        self.tickets_listed = [TICKET]

    async def ask(self, question: str, conversation_id: int | None) -> dict[str, Any]:
        assert self.reply is not None
        return self.reply

    async def not_solved(self, conversation_id: int) -> dict[str, Any]:
        return TICKET

    async def tickets(self) -> list[dict[str, Any]]:
        return self.tickets_listed

    async def stats(self) -> dict[str, Any]:
        return {
            "conversations": 2,
            "resolved": 1,
            "awaiting_confirmation": 1,
            "resolution_rate": 0.5,
            "tickets": {"total": 1, "in_progress": 1},
        }


async def _all(stream: Any) -> list[tuple[Any, ...]]:
    return [item async for item in stream]


def _interactive(button: Any) -> bool:
    return bool(cast(gr.Button, button).interactive)


def test_a_template_answer_waits_for_the_customer_and_names_what_answered() -> None:
    service = FakeSupport(_reply("answered"))
    first, last = asyncio.run(_all(ask(service, "Status of order 1?", [], None, None)))
    assert first[0][-1] == {"role": "assistant", "content": LOOKING}  # the question shows at once
    chat, conversation, question, *_, answered_by, solved, unsolved = last[:10]
    assert chat[-1]["content"] == "Order 1 shipped [1]." and conversation == 3 and question == ""
    assert "order status* template (no model)" in answered_by
    assert "once you press **Solved**" in answered_by
    assert _interactive(solved) and _interactive(unsolved)


def test_a_verified_answer_counts_and_a_failed_one_reports_its_ticket_in_the_chat() -> None:
    verified = asyncio.run(
        _all(ask(FakeSupport(_reply("resolved", core="swift")), "q", [], 3, None))
    )
    answered_by, solved = verified[-1][7], verified[-1][8]
    assert "**swift** core wrote the Cypher" in answered_by and "checker verified" in answered_by
    assert not _interactive(solved)  # nothing left to confirm

    failed = _reply("unresolved", ticket={**TICKET, "reason": "empty_result", "status": "open"})
    chat = asyncio.run(_all(ask(FakeSupport(failed), "q", [], None, None)))[-1][0]
    assert "Ticket #7 is open (nothing found in the graph)" in chat[-1]["content"]


def test_not_solved_answers_in_the_chat_and_chooses_its_ticket() -> None:
    before = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    chat, note, solved, unsolved, _, stats, picker, listed = asyncio.run(
        not_solved(FakeSupport(), before, 3, None)
    )
    assert chat[:2] == before and "Ticket #7 is open" in chat[-1]["content"]
    assert "ticket #7" in note and not _interactive(solved) and not _interactive(unsolved)
    assert cast(gr.Dropdown, picker).value == 7 and listed == [TICKET]
    assert "Resolution rate: 50%" in stats and "1 awaiting confirmation" in stats


def test_tickets_show_the_question_in_words_and_the_picker_starts_empty() -> None:
    table, _, picker, _ = asyncio.run(ticket_views(FakeSupport()))
    row = table.iloc[0].to_dict()
    assert row["Customer's question"] == "What is the status of order 10248?"
    assert row["Why"] == "customer said not solved" and row["Status"] == "in progress"
    now = datetime.now(UTC)
    expected = "5 Mar 19:32" if now.year == 2025 else "5 Mar 2025 19:32"
    assert row["Opened"] == expected and row["Ticket"] == "#7"
    dropdown = cast(gr.Dropdown, picker)
    assert dropdown.value is None  # not "0", which the number box showed as invalid
    assert [value for _, value in dropdown.choices] == [7]
    assert "What is the status of order 10248?" in str(dropdown.choices[0][0])
    kept = cast(gr.Dropdown, asyncio.run(ticket_views(FakeSupport(), 7))[2])
    assert kept.value == 7


def test_every_handler_of_the_screen_is_friendly() -> None:
    context = UiContext(cast(RouterClient, None), Settings(), {"support": FakeSupport()})
    demo = build(context)
    bare = [f.name for f in demo.fns.values() if not hasattr(f.fn, "__wrapped__")]
    assert bare == ["load_example"]  # Gradio's own: it fills the question box


def test_the_subgraph_keeps_every_name_inside_and_has_a_legend() -> None:
    figure = subgraph_figure(SUBGRAPH)
    nodes = figure.data[1]
    low, high = figure.layout.xaxis.range
    width = max(nodes.x) - min(nodes.x)
    # Room for half of the longest centred name beyond the outermost node on either side.
    assert low <= min(nodes.x) - 0.25 * width and high >= max(nodes.x) + 0.25 * width
    bottom, top = figure.layout.yaxis.range
    assert bottom < min(nodes.y) and top > max(nodes.y)
    assert all(trace.cliponaxis is False for trace in figure.data[:2])
    assert [t.name for t in figure.data if t.showlegend is not False] == [
        "cited",
        "Customer",
        "Shipper",
    ]
