"""Support screen: chat with the knowledge graph (answers cite graph nodes, name what answered
them, and count as resolved only when verified or confirmed), the Cypher that ran, a picture of
the subgraph used, "Solved" / "Not solved" feedback in the chat, and tickets with the customer's
conversation and the resolution rate."""

from __future__ import annotations

import asyncio
import re
from functools import partial
from typing import Any, cast

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.apps.calls import friendly, friendly_time, shown
from twincore.apps.support_graph import subgraph_figure
from twincore.platform.components import UiContext
from twincore.platform.router.escalation import summarize_block

TICKET_COLUMNS = ["Ticket", "Opened", "Status", "Why", "Customer's question"]
STATUSES = [("open", "open"), ("in progress", "in_progress"), ("closed", "closed")]
REASONS = {
    "user_not_solved": "customer said not solved",
    "empty_result": "nothing found in the graph",
    "no_valid_query": "no query could answer it",
}
EXAMPLES = [
    "What is the status of order 10248?",
    "Who supplies Chef Anton's Gumbo Mix?",
    "Is there a known problem with Chai?",
    "What was the last order of Alfreds Futterkiste?",
]
LOOKING = "Looking this up in the knowledge graph…"
Chat = list[dict[str, str]]
Tickets = list[dict[str, Any]]
_CLAUSE = re.compile(
    r"(?<!OPTIONAL)\s+(?=(?:OPTIONAL MATCH|MATCH|WHERE|WITH|RETURN|ORDER BY|LIMIT)\b)"
)


# handlers ----------------------------------------------------------------------------------


async def ticket_views(service: Any, chosen: int | None = None) -> tuple[Any, ...]:
    """Tickets table, stats line, the ticket picker (keeping `chosen` when it still exists) and
    the tickets behind them."""
    tickets = await shown(service.tickets())
    stats = await shown(service.stats())
    ids = [t["id"] for t in tickets]
    picker = gr.Dropdown(
        choices=[(_ticket_choice(t), t["id"]) for t in tickets],
        value=chosen if chosen in ids else None,
    )
    return _ticket_table(tickets), _stats_text(stats), picker, tickets


async def ask(
    service: Any, question: str, chat: Chat, conversation_id: int | None, chosen: int | None
) -> Any:
    """Chat, conversation id, question box, citations, checks, Cypher, picture, who answered,
    Solved, Not solved, then the ticket views; first the question with a placeholder answer."""
    if not question.strip():
        raise gr.Error("Type a question first.")
    asked = [*chat, {"role": "user", "content": question}]
    # The question shows at once: a query a core writes can take a while.
    yield [*asked, {"role": "assistant", "content": LOOKING}], *[gr.skip()] * 13
    try:
        reply = await shown(service.ask(question, conversation_id))
    except gr.Error:
        yield chat, *[gr.skip()] * 13  # the placeholder goes; the question stays to retry
        raise
    answer = reply["answer"]
    if reply["ticket"]:
        answer += f"\n\n{_ticket_opened(reply['ticket'])}"
    confirmable = reply["status"] == "answered"
    # The layout runs off the event loop, which every screen of the gateway shares.
    nodes = reply["subgraph"]["nodes"]
    picture = await asyncio.to_thread(subgraph_figure, reply["subgraph"]) if nodes else None
    yield (
        [*asked, {"role": "assistant", "content": answer}],
        reply["conversation_id"],
        "",
        _citations_text(reply),
        _checks_text(reply),
        _cypher_text(reply),
        picture,
        _answered_by(reply),
        gr.Button(interactive=confirmable),
        gr.Button(interactive=reply["status"] != "unresolved"),
        *await ticket_views(service, chosen),
    )


async def solved(
    service: Any, chat: Chat, conversation_id: int | None, chosen: int | None
) -> tuple[Any, ...]:
    """The customer confirms: the conversation counts as resolved; said in the chat."""
    if conversation_id is None:
        raise gr.Error("Ask a question first.")
    await shown(service.solved(int(conversation_id)))
    note = "Glad that helped: this conversation now counts as resolved."
    done = gr.Button(interactive=False)
    return (
        [*chat, {"role": "assistant", "content": note}],
        "**Resolved:** you confirmed the answer.",
        done,
        done,
        *await ticket_views(service, chosen),
    )


async def not_solved(
    service: Any, chat: Chat, conversation_id: int | None, chosen: int | None
) -> tuple[Any, ...]:
    """The customer says it did not help: a ticket, reported in the chat where they look."""
    if conversation_id is None:
        raise gr.Error("Ask a question first.")
    ticket = await shown(service.not_solved(int(conversation_id)))
    note = f"Sorry that did not help. {_ticket_opened(ticket)}"
    done = gr.Button(interactive=False)
    return (
        [*chat, {"role": "assistant", "content": note}],
        f"**Not solved:** ticket #{ticket['id']} is open.",
        done,
        done,
        *await ticket_views(service, ticket["id"]),
    )


async def show_ticket(service: Any, ticket_id: int | None, tickets: Tickets) -> tuple[Chat, str]:
    """The chosen ticket's conversation as the customer had it, and what the ticket is."""
    ticket = next((t for t in tickets if t["id"] == ticket_id), None)
    if ticket is None:
        return [], ""
    conversation = await shown(service.conversation(int(ticket["conversation_id"])))
    messages = [{"role": m["role"], "content": m["text"]} for m in conversation["messages"]]
    return messages, _ticket_summary(ticket)


async def set_status(service: Any, ticket_id: int | None, status: str | None) -> tuple[Any, ...]:
    if ticket_id is None:
        raise gr.Error("Choose a ticket first.")
    if status is None:
        raise gr.Error("Choose the new status first.")
    ticket = await shown(service.set_ticket_status(int(ticket_id), status))
    note = f"Ticket #{ticket['id']} is {_status_words(ticket['status'])}."
    return note, *await ticket_views(service, ticket["id"])


def pick_row(tickets: Tickets, event: gr.SelectData) -> int | None:
    """A click on a table row chooses that row's ticket."""
    row = event.index[0] if isinstance(event.index, list | tuple) else event.index
    return tickets[row]["id"] if 0 <= row < len(tickets) else None


def new_conversation() -> tuple[Any, ...]:
    off = gr.Button(interactive=False)
    return [], None, "", "", "", "", None, "", off, off


# what the screen shows ---------------------------------------------------------------------


def _answered_by(reply: dict[str, Any]) -> str:
    """Who answered (a template, a named core, or nobody) and whether it counts as resolved."""
    if reply["core"]:
        who = f"the **{reply['core']}** core wrote the Cypher"
    elif reply["intent"] != "text2cypher":
        who = f"the *{reply['intent'].replace('_', ' ')}* template (no model)"
    else:
        who = "no core (none could write a query)"
    if reply["status"] == "resolved":
        verdict = "the checker verified the query, so it counts as resolved"
    elif reply["status"] == "answered":
        verdict = "it counts as resolved once you press **Solved**"
    else:
        verdict = "not answered: a person will follow up"
    return f"**Answered by** {who} · {verdict}."


def _ticket_opened(ticket: dict[str, Any]) -> str:
    return (
        f"Ticket #{ticket['id']} is open ({REASONS.get(ticket['reason'], ticket['reason'])}): "
        "a person will follow up. It is listed in the Tickets tab."
    )


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
        return "**Citations:** none (no graph rows support an answer)."
    lines = [f"- [{c['index']}] {c['label']} {c['key']}" for c in cites]
    return "**Citations**\n" + "\n".join(lines)


def _cypher_text(reply: dict[str, Any]) -> str:
    if not reply["cypher"]:
        return "-- no query ran"
    shown = _CLAUSE.sub("\n", str(reply["cypher"]))  # one clause a line, for reading only
    if reply["cypher_ran"]:
        return shown
    return f"-- refused or failed, no rows came from it: {reply['error']}\n{shown}"


def _question(ticket: dict[str, Any]) -> str:
    return " · ".join(ticket.get("questions") or []) or "—"


def _status_words(status: str) -> str:
    return status.replace("_", " ")


def _ticket_choice(ticket: dict[str, Any]) -> str:
    question = _question(ticket)
    short = question if len(question) <= 60 else question[:57] + "…"
    return f"#{ticket['id']} · {_status_words(ticket['status'])} · {short}"


def _ticket_summary(ticket: dict[str, Any]) -> str:
    return (
        f"**Ticket #{ticket['id']}** · {_status_words(ticket['status'])} · opened "
        f"{friendly_time(ticket['created_at'])} · {REASONS.get(ticket['reason'], ticket['reason'])}"
    )


def _ticket_table(tickets: Tickets) -> pd.DataFrame:
    rows = [
        [
            f"#{t['id']}",
            friendly_time(t["created_at"]),
            _status_words(t["status"]),
            REASONS.get(t["reason"], t["reason"]),
            _question(t),
        ]
        for t in tickets
    ]
    return pd.DataFrame(rows, columns=TICKET_COLUMNS)


def _stats_text(stats: dict[str, Any]) -> str:
    rate = stats["resolution_rate"]
    shown = "n/a (no conversations yet)" if rate is None else f"{rate:.0%}"
    counts = stats["tickets"]
    waiting = stats.get("awaiting_confirmation", 0)
    return (
        f"**Resolution rate: {shown}** · {stats['resolved']} of {stats['conversations']} "
        f"conversations resolved (checker-verified or confirmed by the customer), {waiting} "
        f"awaiting confirmation · tickets: {counts.get('open', 0)} open, "
        f"{counts.get('in_progress', 0)} in progress, {counts.get('closed', 0)} closed"
    )


# the screen --------------------------------------------------------------------------------


def build(context: UiContext) -> gr.Blocks:
    service = context.services["support"]
    with gr.Blocks(title="Twincore support") as demo:
        gr.Markdown(
            "# Customer support\nAnswers come from the Northwind knowledge graph and cite the "
            "nodes they rest on; what the graph cannot answer becomes a ticket."
        )
        conversation = gr.State(None)
        listed = gr.State([])
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Conversation",
                    height=380,
                    elem_id="support-chat",
                    group_consecutive_messages=False,  # "ticket opened" is its own bubble
                    placeholder="Ask about an order, a product, a supplier or a customer.",
                )
                answered_by = gr.Markdown(elem_id="support-answered-by")
                question = gr.Textbox(
                    label="Question", placeholder=EXAMPLES[0], lines=1, max_lines=3
                )
                with gr.Row():
                    send = gr.Button("Ask", variant="primary")
                    confirm = gr.Button("Solved", interactive=False)
                    unsolved = gr.Button("Not solved", interactive=False)
                    fresh = gr.Button("New conversation")
                gr.Examples(EXAMPLES, inputs=[question])
            with gr.Column(scale=2):
                citations = gr.Markdown(elem_id="support-citations")
                checks = gr.Markdown(elem_id="support-checks")
                with gr.Accordion("Cypher that ran", open=False):
                    cypher = gr.Code(
                        label="Cypher", language="sql", interactive=False, wrap_lines=True
                    )
                picture = gr.Plot(label="Subgraph used", elem_id="support-subgraph")
        with gr.Tab("Tickets"):
            stats = gr.Markdown(elem_id="support-stats")
            tickets = gr.Dataframe(
                headers=TICKET_COLUMNS,
                label="Tickets (newest first; click a row to read it)",
                interactive=False,
                wrap=True,
                column_widths=["8%", "14%", "12%", "22%", "44%"],
                elem_id="support-tickets",
            )
            with gr.Row(elem_id="support-ticket-actions"):
                chosen = gr.Dropdown([], value=None, label="Ticket", scale=3)
                status = gr.Dropdown(STATUSES, value="in_progress", label="New status", scale=1)
                apply = gr.Button("Set status", scale=1)
                refresh = gr.Button("Refresh", scale=1)
            ticket_note = gr.Markdown(elem_id="support-ticket-note")
            ticket_chat = gr.Chatbot(
                label="The ticket's conversation",
                height=280,
                buttons=["copy_all"],
                placeholder="Choose a ticket to read the customer's conversation.",
                elem_id="support-ticket-chat",
            )

        views = [tickets, stats, chosen, listed]
        answer_shown = [chat, conversation, question, citations, checks, cypher, picture]
        feedback = [answered_by, confirm, unsolved]
        asked = [question, chat, conversation, chosen]
        answered = [*answer_shown, *feedback, *views]
        send.click(friendly(partial(ask, service)), asked, answered, api_name="ask")
        # Enter in the box does what the button does; the button's `ask` is the API endpoint.
        question.submit(friendly(partial(ask, service)), asked, answered, api_visibility="private")
        said = [chat, conversation, chosen]
        confirm.click(
            friendly(partial(solved, service)), said, [chat, *feedback, *views], api_name="solved"
        )
        unsolved.click(
            friendly(partial(not_solved, service)),
            said,
            [chat, *feedback, *views],
            api_name="not_solved",
        )
        fresh.click(
            friendly(new_conversation),
            outputs=[*answer_shown, *feedback],
            api_name="new_conversation",
        )
        # The chat's own bin starts afresh too: the next question must not join the old one.
        chat.clear(
            friendly(new_conversation), outputs=[*answer_shown, *feedback], api_visibility="private"
        )
        chosen.change(
            friendly(partial(show_ticket, service)),
            [chosen, listed],
            [ticket_chat, ticket_note],
            api_name="show_ticket",
        )
        tickets.select(friendly(pick_row), [listed], [chosen], api_visibility="private")
        apply.click(
            friendly(partial(set_status, service)),
            [chosen, status],
            [ticket_note, *views],
            api_name="set_ticket_status",
        )
        refresh.click(friendly(partial(ticket_views, service)), [chosen], views, api_name="tickets")
        demo.load(
            friendly(partial(ticket_views, service)), outputs=views, api_name="tickets_and_stats"
        )
    return cast(gr.Blocks, demo)
