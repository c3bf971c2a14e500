"""The SQL of support: record each exchange, open escalation tickets, read conversations and
tickets, count the resolution rate.

An exchange whose answer is unresolved (no valid query, empty result) opens a ticket with the
transcript; so does the user marking the conversation "not solved". A conversation holds at
most one ticket a person still works on: a later escalation updates it. A grounded answer is
not yet a resolution: the conversation is `resolved` only when the checker verified the query
or the user confirmed ("solved"); until then it is `answered`. Callers pass a session in a
`session_scope`, so a failure stores nothing half.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from twincore.platform.errors import Invalid, NotFound
from twincore.services.support.answer import Answer
from twincore.services.support.models import (
    OPEN_TICKET_STATUSES,
    TICKET_STATUSES,
    SupportConversation,
    SupportMessage,
    SupportTicket,
)


class SupportRecordError(Invalid):
    """A record that cannot be written as asked: an empty question, a status not allowed."""


class NotFoundError(NotFound):
    """A conversation or ticket id that does not exist."""


def get_conversation(session: Session, *, conversation_id: int) -> SupportConversation:
    conv = session.get(SupportConversation, conversation_id)
    if conv is None:
        raise NotFoundError(f"conversation {conversation_id} does not exist")
    return conv


def transcript(conv: SupportConversation) -> str:
    return "\n".join(f"{m.role}: {m.text}" for m in conv.messages)


def open_ticket(session: Session, *, conversation_id: int) -> SupportTicket | None:
    """The conversation's ticket a person still works on (open or in progress), if any."""
    query = (
        select(SupportTicket)
        .where(SupportTicket.conversation_id == conversation_id)
        .where(SupportTicket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(SupportTicket.id.desc())
    )
    return session.scalars(query).first()


def _escalate(session: Session, conv: SupportConversation, reason: str) -> SupportTicket:
    """A ticket with the transcript; the conversation's unfinished ticket is updated instead of
    opening a second one, so one customer never lands on two people's desks."""
    session.flush()
    text = transcript(conv)
    ticket = open_ticket(session, conversation_id=conv.id)
    if ticket is None:
        ticket = SupportTicket(status="open", conversation_id=conv.id, reason=reason)
        session.add(ticket)
    ticket.reason = reason
    ticket.transcript = text
    session.flush()
    return ticket


def record_exchange(
    session: Session,
    *,
    question: str,
    answer: Answer,
    verified: bool = False,
    conversation_id: int | None = None,
) -> tuple[SupportConversation, SupportTicket | None]:
    """Store the question and answer; an unresolved answer escalates to a ticket. `verified`:
    the checker accepted the query, so a grounded answer counts as resolved without asking."""
    if not question.strip():
        raise SupportRecordError("the question is empty")
    conv = (
        get_conversation(session, conversation_id=conversation_id)
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
    ticket = None
    if not answer.resolved:
        conv.status = "unresolved"
        reason = "empty_result" if answer.error is None else "no_valid_query"
        ticket = _escalate(session, conv, reason)
    else:
        # Rows came back, but rows are not proof the question was answered (a template that
        # answers half a question returns rows too): only the checker or the user says so.
        conv.status = "resolved" if verified else "answered"
    session.flush()
    return conv, ticket


def mark_not_solved(session: Session, *, conversation_id: int) -> SupportTicket:
    """The user says the answer did not help: the conversation is unresolved and escalated."""
    conv = get_conversation(session, conversation_id=conversation_id)
    conv.status = "unresolved"
    return _escalate(session, conv, "user_not_solved")


def mark_solved(session: Session, *, conversation_id: int) -> SupportConversation:
    """The user confirms the answer solved it: the conversation is resolved and the ticket a
    person still had for it is closed (the customer needs nothing more)."""
    conv = get_conversation(session, conversation_id=conversation_id)
    if not any(m.role == "assistant" and m.resolved for m in conv.messages):
        raise SupportRecordError("there is no answer in this conversation to confirm")
    conv.status = "resolved"
    ticket = open_ticket(session, conversation_id=conv.id)
    if ticket is not None:
        ticket.status = "closed"
    session.flush()
    return conv


def set_ticket_status(session: Session, *, ticket_id: int, status: str) -> SupportTicket:
    if status not in TICKET_STATUSES:
        raise SupportRecordError(f"ticket status must be one of {list(TICKET_STATUSES)}")
    ticket = session.get(SupportTicket, ticket_id)
    if ticket is None:
        raise NotFoundError(f"ticket {ticket_id} does not exist")
    ticket.status = status
    return ticket


def list_conversations(session: Session, *, limit: int) -> list[SupportConversation]:
    """The newest conversations first."""
    query = select(SupportConversation).order_by(SupportConversation.id.desc()).limit(limit)
    return list(session.scalars(query))


def conversation_tickets(session: Session, *, conversation_id: int) -> list[SupportTicket]:
    query = (
        select(SupportTicket)
        .where(SupportTicket.conversation_id == conversation_id)
        .order_by(SupportTicket.id)
    )
    return list(session.scalars(query))


def list_tickets(session: Session, *, status: str | None, limit: int) -> list[SupportTicket]:
    """The newest tickets first, of one status when given, with their conversations (the
    questions a person reads in the list)."""
    query = (
        select(SupportTicket)
        .options(
            selectinload(SupportTicket.conversation).selectinload(SupportConversation.messages)
        )
        .order_by(SupportTicket.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(SupportTicket.status == status)
    return list(session.scalars(query))


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


def stats(session: Session) -> dict[str, Any]:
    """Resolution rate = resolved conversations / all, with the counts behind it."""
    by_status = dict(
        session.execute(
            select(SupportConversation.status, func.count()).group_by(SupportConversation.status)
        ).all()
    )
    tickets = dict(
        session.execute(
            select(SupportTicket.status, func.count()).group_by(SupportTicket.status)
        ).all()
    )
    return {
        "conversations": sum(by_status.values()),
        "resolved": by_status.get("resolved", 0),
        "awaiting_confirmation": by_status.get("answered", 0),
        "resolution_rate": resolution_rate(session),
        "tickets": {"total": sum(tickets.values()), **tickets},
    }
