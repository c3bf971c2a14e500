"""Conversation history and escalation: record each exchange, open tickets, resolution rate.

An exchange whose answer is unresolved (no valid query, empty result) opens a ticket with the
transcript; so does the user marking the conversation "not solved". Callers pass a session in
a `session_scope`, so a failure stores nothing half.
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twincore.services.support.answer import Answer
from twincore.services.support.models import (
    TICKET_STATUSES,
    SupportConversation,
    SupportMessage,
    SupportTicket,
)


class SupportRecordError(LookupError):
    """A conversation or ticket that does not exist, or a status that is not allowed."""


def _conversation(session: Session, conversation_id: int) -> SupportConversation:
    conv = session.get(SupportConversation, conversation_id)
    if conv is None:
        raise SupportRecordError(f"conversation {conversation_id} does not exist")
    return conv


def transcript(conv: SupportConversation) -> str:
    return "\n".join(f"{m.role}: {m.text}" for m in conv.messages)


def _open_ticket(session: Session, conv: SupportConversation, reason: str) -> SupportTicket:
    session.flush()
    ticket = SupportTicket(status="open", reason=reason)
    ticket.conversation_id = conv.id
    ticket.transcript = transcript(conv)
    session.add(ticket)
    session.flush()
    return ticket


def record_exchange(
    session: Session, question: str, answer: Answer, conversation_id: int | None = None
) -> tuple[SupportConversation, SupportTicket | None]:
    """Store the question and answer; an unresolved answer escalates to a ticket."""
    if not question.strip():
        raise SupportRecordError("the question is empty")
    conv = (
        _conversation(session, conversation_id)
        if conversation_id is not None
        else SupportConversation(status="open")
    )
    session.add(conv)
    conv.messages.append(SupportMessage(role="user", text=question))
    conv.messages.append(
        SupportMessage(
            role="assistant",
            text=answer.text,
            intent=answer.intent,
            cypher=answer.cypher,
            citations=[asdict(c) for c in answer.citations],
            resolved=answer.resolved,
        )
    )
    conv.status = "resolved" if answer.resolved else "unresolved"
    ticket = None
    if not answer.resolved:
        reason = "empty_result" if answer.error is None else "no_valid_query"
        ticket = _open_ticket(session, conv, reason)
    return conv, ticket


def mark_not_solved(session: Session, conversation_id: int) -> SupportTicket:
    """The user says the answer did not help: the conversation is unresolved and escalated."""
    conv = _conversation(session, conversation_id)
    conv.status = "unresolved"
    return _open_ticket(session, conv, "user_not_solved")


def set_ticket_status(session: Session, ticket_id: int, status: str) -> SupportTicket:
    if status not in TICKET_STATUSES:
        raise SupportRecordError(f"ticket status must be one of {list(TICKET_STATUSES)}")
    ticket = session.get(SupportTicket, ticket_id)
    if ticket is None:
        raise SupportRecordError(f"ticket {ticket_id} does not exist")
    ticket.status = status
    return ticket


def resolution_rate(session: Session) -> float | None:
    """Resolved conversations / all conversations (None when there are none yet)."""
    total = session.scalar(select(func.count()).select_from(SupportConversation)) or 0
    if total == 0:
        return None
    resolved = (
        session.scalar(
            select(func.count())
            .select_from(SupportConversation)
            .where(SupportConversation.status == "resolved")
        )
        or 0
    )
    return resolved / total
