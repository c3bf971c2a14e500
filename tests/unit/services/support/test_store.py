"""The SQL of support: conversations, escalation tickets and the resolution rate over the
migrated schema. Rows coming back are not a resolution: only the checker's verdict or the
customer's "solved" counts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from twincore.platform.db.engine import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.services.support.answer import Answer, Citation
from twincore.services.support.models import SupportMessage, SupportTicket
from twincore.services.support.store import (
    NotFoundError,
    SupportRecordError,
    get_conversation,
    mark_not_solved,
    mark_solved,
    record_exchange,
    resolution_rate,
    set_ticket_status,
    stats,
)

FOUND = Answer(
    "Order 10248 shipped on 1996-07-16 [1].",
    "order_status",
    True,
    "MATCH (o:Order {orderID: $orderID}) RETURN o LIMIT 1",
    {"orderID": "10248"},
    [{"orderID": "10248"}],
    [Citation(1, "Order", "10248")],
)
EMPTY = Answer("I found no order with id 99999.", "order_status", False, "MATCH ...")
INVALID = Answer("I could not turn this question...", "text2cypher", False, error="bad label")


def test_escalation_and_resolution_rate(database_url: str) -> None:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    try:
        with session_scope(sessions) as s:
            assert resolution_rate(s) is None
            ok, no_ticket = record_exchange(
                s, question="status of 10248?", answer=FOUND, verified=True
            )
            _, empty_ticket = record_exchange(s, question="status of 99999?", answer=EMPTY)
            _, invalid_ticket = record_exchange(s, question="what is love?", answer=INVALID)
            assert no_ticket is None and empty_ticket and invalid_ticket
            assert (empty_ticket.reason, invalid_ticket.reason) == (
                "empty_result",
                "no_valid_query",
            )
            assert "user: status of 99999?" in empty_ticket.transcript
            assert "assistant: I found no order with id 99999." in empty_ticket.transcript
            ok_id = ok.id
            assert resolution_rate(s) == pytest.approx(1 / 3)
        with session_scope(sessions) as s:
            msgs = s.scalars(
                select(SupportMessage).where(SupportMessage.conversation_id == ok_id)
            ).all()
            assert [m.role for m in msgs] == ["user", "assistant"]
            assert msgs[1].citations == [{"index": 1, "label": "Order", "key": "10248"}]
            ticket = mark_not_solved(s, conversation_id=ok_id)
            assert ticket.reason == "user_not_solved" and "10248" in ticket.transcript
            assert resolution_rate(s) == 0.0
            set_ticket_status(s, ticket_id=ticket.id, status="closed")
        with session_scope(sessions) as s:
            assert len(s.scalars(select(SupportTicket)).all()) == 3
            with pytest.raises(SupportRecordError, match="status must be one of"):
                set_ticket_status(s, ticket_id=1, status="lost")
            with pytest.raises(NotFoundError, match="does not exist"):
                mark_not_solved(s, conversation_id=999)
            with pytest.raises(NotFoundError, match="ticket 999"):
                set_ticket_status(s, ticket_id=999, status="closed")
            with pytest.raises(SupportRecordError, match="empty"):
                record_exchange(s, question="  ", answer=FOUND)
    finally:
        engine.dispose()


def test_an_unverified_answer_counts_only_once_the_customer_confirms(database_url: str) -> None:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    try:
        with session_scope(sessions) as s:
            # A template answered half of "status and cost?": rows, but nobody checked the rest.
            conv, ticket = record_exchange(s, question="status and cost of 10248?", answer=FOUND)
            assert ticket is None and conv.status == "answered"
            assert resolution_rate(s) == 0.0
            assert stats(s)["awaiting_confirmation"] == 1 and stats(s)["resolved"] == 0
            mark_solved(s, conversation_id=conv.id)
            assert get_conversation(s, conversation_id=conv.id).status == "resolved"
            assert resolution_rate(s) == 1.0
            nothing, _ = record_exchange(s, question="status of 99999?", answer=EMPTY)
            with pytest.raises(SupportRecordError, match="no answer"):
                mark_solved(s, conversation_id=nothing.id)
    finally:
        engine.dispose()


def test_one_unfinished_ticket_per_conversation(database_url: str) -> None:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    try:
        with session_scope(sessions) as s:
            conv, empty = record_exchange(s, question="status of 99999?", answer=EMPTY)
            assert empty is not None and empty.reason == "empty_result"
            record_exchange(s, question="and 10248?", answer=FOUND, conversation_id=conv.id)
            again = mark_not_solved(s, conversation_id=conv.id)
            twice = mark_not_solved(s, conversation_id=conv.id)
            # The customer's word replaces the reason; the transcript grows; no second ticket.
            assert again.id == twice.id == empty.id and twice.reason == "user_not_solved"
            assert "user: and 10248?" in twice.transcript
            # "Solved" closes it; a later "not solved" opens a fresh one.
            mark_solved(s, conversation_id=conv.id)
            assert twice.status == "closed"
            fresh = mark_not_solved(s, conversation_id=conv.id)
            assert fresh.id != twice.id and fresh.status == "open"
            assert len(s.scalars(select(SupportTicket)).all()) == 2
    finally:
        engine.dispose()
