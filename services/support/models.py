"""SQL tables of support: conversations, their messages, and escalation tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from twincore.platform.db.base import Base, UTCDateTime, utcnow

CONVERSATION_STATUSES = ("open", "answered", "resolved", "unresolved")
"""`answered`: a grounded answer nobody has confirmed yet (not counted as resolved)."""
TICKET_STATUSES = ("open", "in_progress", "closed")
OPEN_TICKET_STATUSES = ("open", "in_progress")
"""A ticket in these is still on a person's desk."""


class SupportConversation(Base):
    """One customer's chat; `status` is resolved once the checker verified an answer's query or
    the user confirmed it, and not disputed since."""

    __tablename__ = "support_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")
    messages: Mapped[list[SupportMessage]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        order_by="SupportMessage.id",
    )


class SupportMessage(Base):
    """A user question or an assistant answer, with the Cypher and citations behind it."""

    __tablename__ = "support_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("support_conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(32))
    cypher: Mapped[str | None] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    conversation: Mapped[SupportConversation] = relationship(back_populates="messages")


class SupportTicket(Base):
    """An escalation to a human: why it opened and the transcript at that moment."""

    __tablename__ = "support_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("support_conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(String(32))
    transcript: Mapped[str] = mapped_column(Text)
    conversation: Mapped[SupportConversation] = relationship()
