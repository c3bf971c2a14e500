"""The toy service's table, on the platform's one metadata."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from twincore.platform.db.base import Base


class ToyNote(Base):
    __tablename__ = "toy_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
