"""The tutor's tables: the knowledge tree (subjects, topics, skills, prerequisite edges), tutoring
sessions with their graded attempts, and per-student, per-skill mastery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from twincore.platform.db.base import Base, UTCDateTime, utcnow


class TutorSubject(Base):
    __tablename__ = "tutor_subjects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    """Order in the tree file (the curriculum order)."""


class TutorTopic(Base):
    __tablename__ = "tutor_topics"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("tutor_subjects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class TutorSkill(Base):
    __tablename__ = "tutor_skills"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic_id: Mapped[str] = mapped_column(ForeignKey("tutor_topics.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    """The problem kind (solver type) that practises the skill."""
    position: Mapped[int] = mapped_column(Integer)


class TutorPrerequisite(Base):
    """`skill_id` is offered once `requires_id` is known well enough."""

    __tablename__ = "tutor_prerequisites"
    __table_args__ = (CheckConstraint("skill_id <> requires_id", name="not_self"),)

    skill_id: Mapped[str] = mapped_column(ForeignKey("tutor_skills.id"), primary_key=True)
    requires_id: Mapped[str] = mapped_column(ForeignKey("tutor_skills.id"), primary_key=True)


class TutorSession(Base):
    """One sitting of a student, optionally focused on a skill."""

    __tablename__ = "tutor_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    student: Mapped[str] = mapped_column(String(64), index=True)
    skill_id: Mapped[str | None] = mapped_column(ForeignKey("tutor_skills.id"))

    attempts: Mapped[list[TutorAttempt]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="TutorAttempt.id"
    )


class TutorAttempt(Base):
    """A problem worked by the student, graded by the checker."""

    __tablename__ = "tutor_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("tutor_sessions.id", ondelete="CASCADE"), index=True
    )
    problem: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    skills: Mapped[list[str]] = mapped_column(JSON)
    steps: Mapped[list[str]] = mapped_column(JSON)
    correct: Mapped[bool] = mapped_column(Boolean)
    complete: Mapped[bool] = mapped_column(Boolean)
    """No wrong step and the last step is a finished answer."""
    first_wrong: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """`{index, text, kind, reason}` of the first wrong step, if any."""
    hints_used: Mapped[int] = mapped_column(Integer, default=0)
    mastery: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Per tagged skill: P(known) before and after this attempt."""

    session: Mapped[TutorSession] = relationship(back_populates="attempts")


class TutorMastery(Base):
    """P(known) of one skill for one student (Bayesian knowledge tracing)."""

    __tablename__ = "tutor_mastery"
    __table_args__ = (CheckConstraint("p_known >= 0 AND p_known <= 1", name="p_known_range"),)

    student: Mapped[str] = mapped_column(String(64), primary_key=True)
    skill_id: Mapped[str] = mapped_column(ForeignKey("tutor_skills.id"), primary_key=True)
    p_known: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
