"""JSON-ready views of support records and replies (what the API and the app show)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from twincore.services.support.answer import Answer
from twincore.services.support.models import SupportConversation, SupportMessage, SupportTicket


def ticket(row: SupportTicket) -> dict[str, Any]:
    """A ticket with the customer's questions, so a list of tickets says what each is about."""
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "created_at": row.created_at.isoformat(),
        "status": row.status,
        "reason": row.reason,
        "questions": [m.text for m in row.conversation.messages if m.role == "user"],
        "transcript": row.transcript,
    }


def message(row: SupportMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "role": row.role,
        "text": row.text,
        "intent": row.intent,
        "cypher": row.cypher,
        "citations": row.citations or [],
        "resolved": row.resolved,
    }


def conversation_summary(row: SupportConversation) -> dict[str, Any]:
    first = next((m.text for m in row.messages if m.role == "user"), "")
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "status": row.status,
        "messages": len(row.messages),
        "first_question": first,
    }


def conversation(row: SupportConversation, tickets: list[SupportTicket]) -> dict[str, Any]:
    return {
        **conversation_summary(row),
        "messages": [message(m) for m in row.messages],
        "tickets": [ticket(t) for t in tickets],
    }


def reply(
    answer: Answer,
    *,
    conversation_id: int,
    status: str,
    verified: bool,
    core: str | None,
    opened: SupportTicket | None,
    subgraph: dict[str, Any],
    twincore: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One answered question: the grounded answer, what ran, the ticket it opened, if any, and
    the `twincore` block (every attempt with the checker's verdict). `status` is the
    conversation's: `answered` until the user confirms, unless the checker `verified` it."""
    return {
        "conversation_id": conversation_id,
        "status": status,
        "verified": verified,
        "answer": answer.text,
        "intent": answer.intent,
        "resolved": answer.resolved,
        "citations": [asdict(c) for c in answer.citations],
        "cypher": answer.cypher,
        # False when the query was refused (guard) or failed: then it is shown, not a result.
        "cypher_ran": answer.cypher is not None and answer.error is None,
        "params": answer.params,
        "rows": answer.rows,
        "error": answer.error,
        "core": core,
        "ticket": ticket(opened) if opened is not None else None,
        "subgraph": subgraph,
        "twincore": twincore,
    }
