"""The writing service's tables: generated drafts with their checker reports, and user ratings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from twincore.platform.db.base import Base, UTCDateTime, utcnow


class WritingDraft(Base):
    """One generated text: what was asked, the chosen text, its report and prediction."""

    __tablename__ = "writing_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    style_id: Mapped[str] = mapped_column(String(32), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    """`compose` (prompt is a topic) or `rewrite` (prompt is the source text)."""
    prompt: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The checker report as the API shows it (constraints with their reasons)."""
    predicted_style: Mapped[str] = mapped_column(String(32))
    similarity: Mapped[float | None] = mapped_column(Float)
    """Content similarity to the source (rewrites only)."""
    revised: Mapped[bool] = mapped_column(Boolean, default=False)
    candidates: Mapped[int] = mapped_column(Integer, default=1)
    model: Mapped[str] = mapped_column(String(32), default="auto")
    core: Mapped[str | None] = mapped_column(String(32))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The run's `twincore` block: the escalation's attempts and verdict, with the router's
    decision for the chosen text under `decision` (older rows: that decision alone)."""

    ratings: Mapped[list[WritingRating]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", order_by="WritingRating.id"
    )


class WritingRating(Base):
    """A user's 1-5 satisfaction with a draft (the database refuses anything else too)."""

    __tablename__ = "writing_ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars_1_to_5"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    draft_id: Mapped[int] = mapped_column(
        ForeignKey("writing_drafts.id", ondelete="CASCADE"), index=True
    )
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")

    draft: Mapped[WritingDraft] = relationship(back_populates="ratings")
