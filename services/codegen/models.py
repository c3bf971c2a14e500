"""The code generation service's tables: runs, their candidates, each round's sandbox outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from twincore.platform.db.base import Base, UTCDateTime, utcnow


class CodegenRun(Base):
    """One request to generate (or just run) code: the task, how it was served, the verdict."""

    __tablename__ = "codegen_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    """`generate` (the loop) or `run` (code given, only the sandbox)."""
    language: Mapped[str] = mapped_column(String(16))
    spec: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    tests: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(32), default="auto")
    samples: Mapped[int] = mapped_column(Integer, default=1)
    max_rounds: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    """`running`, then `passed`, `failed` or `error` (the loop itself failed)."""
    best_candidate: Mapped[int | None] = mapped_column(Integer)
    """Index of the winning candidate."""
    code: Mapped[str] = mapped_column(Text, default="")
    """The winner's code."""
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The router's decision for the answer that stands; under its `twincore` key, the
    escalation's block without that decision (`store.run_view` puts the two back together)."""
    error: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)

    candidates: Mapped[list[CodegenCandidate]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        order_by="CodegenCandidate.number",
    )


class CodegenCandidate(Base):
    """One of a run's `samples` candidates; its rounds are its attempts."""

    __tablename__ = "codegen_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("codegen_runs.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    """Position among the run's candidates (0 first)."""
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    core: Mapped[str | None] = mapped_column(String(32))

    run: Mapped[CodegenRun] = relationship(back_populates="candidates")
    attempts: Mapped[list[CodegenAttempt]] = relationship(
        back_populates="candidate",
        cascade="all, delete-orphan",
        order_by="CodegenAttempt.round",
    )


class CodegenAttempt(Base):
    """One round: the model's reply, the code taken from it and the sandbox's outcome."""

    __tablename__ = "codegen_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("codegen_candidates.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column(Integer)
    reply: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    """The sandbox status: ok, failed, timeout, memory, killed, compile_error."""
    reason: Mapped[str] = mapped_column(Text, default="")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    compile_output: Mapped[str] = mapped_column(Text, default="")
    wall_s: Mapped[float] = mapped_column(Float, default=0.0)
    cpu_s: Mapped[float] = mapped_column(Float, default=0.0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)

    candidate: Mapped[CodegenCandidate] = relationship(back_populates="attempts")
