"""Support screen: chat with the knowledge graph (answers cite graph nodes), the Cypher that ran,
a picture of the subgraph used, "not solved" escalation, tickets and the resolution rate."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, cast

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.apps.calls import shown
from twincore.apps.support_graph import subgraph_figure
from twincore.platform.components import UiContext
from twincore.platform.router.escalation import summarize_block

TICKET_COLUMNS = ["ticket", "conversation", "status", "reason", "opened"]
STATUSES = ["open", "in_progress", "closed"]
EXAMPLES = [
    "What is the status of order 10248?",
    "Who supplies Chef Anton's Gumbo Mix?",
    "Is there a known problem with Chai?",
    "What was the last order of Alfreds Futterkiste?",
]
Chat = list[dict[str, str]]
_CLAUSE = re.compile(
    r"(?<!OPTIONAL)\s+(?=(?:OPTIONAL MATCH|MATCH|WHERE|WITH|RETURN|ORDER BY|LIMIT)\b)"
)


async def tickets_and_stats(service: Any) -> tuple[pd.DataFrame, str]:
    tickets = await shown(service.tickets())
    stats = await shown(service.stats())
    return _ticket_table(tickets), _stats_text(stats)


async def ask(
    service: Any, question: str, chat: Chat, conversation_id: int | None
) -> tuple[Any, ...]:
    """Chat, conversation id, cleared question, citations, checks, Cypher, picture, tickets,
    stats."""
    if not question.strip():
        raise gr.Error("Type a question first.")
    reply = await shown(service.ask(question, conversation_id))
    chat = [
        *chat,
        {"role": "user", "content": question},
        {"role": "assistant", "content": reply["answer"]},
    ]
    table, stats = await tickets_and_stats(service)
    return (
        chat,
        reply["conversation_id"],
        "",
        _citations_text(reply),
        _checks_text(reply),
        _cypher_text(reply),
        subgraph_figure(reply["subgraph"]) if reply["subgraph"]["nodes"] else None,
        table,
        stats,
    )


async def not_solved(service: Any, conversation_id: int | None) -> tuple[str, pd.DataFrame, str]:
    if conversation_id is None:
        raise gr.Error("Ask a question first.")
    ticket = await shown(service.not_solved(int(conversation_id)))
    table, stats = await tickets_and_stats(service)
    return f"Ticket #{ticket['id']} opened: a person will follow up.", table, stats


async def set_status(
    service: Any, ticket_id: float | None, status: str
) -> tuple[str, pd.DataFrame, str]:
    if ticket_id is None:
        raise gr.Error("Enter a ticket number.")
    ticket = await shown(service.set_ticket_status(int(ticket_id), status))
    table, stats = await tickets_and_stats(service)
    return f"Ticket #{ticket['id']} is {ticket['status']}.", table, stats


def new_conversation() -> tuple[Chat, None, str, str, str, str, None]:
    return [], None, "", "", "", "", None


def _checks_text(reply: dict[str, Any]) -> str:
    """One line: the attempts (`swift fail -> swift repair pass`), and why the answer failed."""
    block = reply.get("twincore") or {}
    summary = summarize_block(block)
    if not summary:
        return ""
    line = f"**Checks:** {summary}"
    verdict = block.get("verdict") or {}
    if not verdict.get("passed", True):
        line += " — " + " ".join(verdict.get("reasons", []))
    return line


def _citations_text(reply: dict[str, Any]) -> str:
    cites = reply["citations"]
    if not cites:
        note = "no graph rows support an answer"
        if reply["ticket"]:
            note += f"; ticket #{reply['ticket']['id']} opened ({reply['ticket']['reason']})"
        return f"**Citations:** none ({note})."
    lines = [f"- [{c['index']}] {c['label']} {c['key']}" for c in cites]
    return "**Citations**\n" + "\n".join(lines)


def _cypher_text(reply: dict[str, Any]) -> str:
    if not reply["cypher"]:
        return "-- no query ran"
    shown = _CLAUSE.sub("\n", str(reply["cypher"]))  # one clause a line, for reading only
    if reply["cypher_ran"]:
        return shown
    return f"-- refused or failed, no rows came from it: {reply['error']}\n{shown}"


def _ticket_table(tickets: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        [t["id"], t["conversation_id"], t["status"], t["reason"], t["created_at"][:19]]
        for t in tickets
    ]
    return pd.DataFrame(rows, columns=TICKET_COLUMNS)


def _stats_text(stats: dict[str, Any]) -> str:
    rate = stats["resolution_rate"]
    shown = "n/a (no conversations yet)" if rate is None else f"{rate:.0%}"
    counts = stats["tickets"]
    return (
        f"**Resolution rate: {shown}** ({stats['resolved']} of {stats['conversations']} "
        f"conversations resolved) · tickets: {counts['total']} total, "
        f"{counts.get('open', 0)} open, {counts.get('in_progress', 0)} in progress, "
        f"{counts.get('closed', 0)} closed"
    )


def build(context: UiContext) -> gr.Blocks:
    service = context.services["support"]
    with gr.Blocks(title="Twincore support") as demo:
        gr.Markdown(
            "# Customer support\nAnswers come from the Northwind knowledge graph and cite the "
            "nodes they rest on; what the graph cannot answer becomes a ticket."
        )
        conversation = gr.State(None)
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Conversation", height=360)
                question = gr.Textbox(
                    label="Question", placeholder=EXAMPLES[0], lines=1, max_lines=3
                )
                with gr.Row():
                    send = gr.Button("Ask", variant="primary")
                    unsolved = gr.Button("Not solved")
                    fresh = gr.Button("New conversation")
                gr.Examples(EXAMPLES, inputs=[question])
                escalation = gr.Markdown()
            with gr.Column(scale=2):
                citations = gr.Markdown(label="Citations", elem_id="support-citations")
                checks = gr.Markdown(elem_id="support-checks")
                with gr.Accordion("Cypher that ran", open=False):
                    cypher = gr.Code(label="Cypher", language="sql", interactive=False)
                picture = gr.Plot(label="Subgraph used")
        with gr.Tab("Tickets"):
            stats = gr.Markdown(elem_id="support-stats")
            tickets = gr.Dataframe(headers=TICKET_COLUMNS, label="Tickets", interactive=False)
            with gr.Row():
                ticket_id = gr.Number(label="Ticket", precision=0, minimum=1)
                status = gr.Dropdown(STATUSES, value="in_progress", label="New status")
                apply = gr.Button("Set status")
                refresh = gr.Button("Refresh")
            ticket_note = gr.Markdown()

        asked = [question, chat, conversation]
        shown_answer = [chat, conversation, question, citations, checks, cypher, picture]
        answered = [*shown_answer, tickets, stats]
        send.click(partial(ask, service), inputs=asked, outputs=answered, api_name="ask")
        # Enter in the box does what the button does; the button's `ask` is the API endpoint.
        question.submit(
            partial(ask, service), inputs=asked, outputs=answered, api_visibility="private"
        )
        unsolved.click(
            partial(not_solved, service),
            inputs=[conversation],
            outputs=[escalation, tickets, stats],
            api_name="not_solved",
        )
        fresh.click(
            new_conversation,
            outputs=[chat, conversation, question, citations, checks, cypher, picture],
            api_name="new_conversation",
        )
        apply.click(
            partial(set_status, service),
            inputs=[ticket_id, status],
            outputs=[ticket_note, tickets, stats],
            api_name="set_ticket_status",
        )
        refresh.click(
            partial(tickets_and_stats, service), outputs=[tickets, stats], api_name="tickets"
        )
        demo.load(
            partial(tickets_and_stats, service),
            outputs=[tickets, stats],
            api_name="tickets_and_stats",
        )
    return cast(gr.Blocks, demo)
