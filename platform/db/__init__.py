"""Database layer: one declarative Base, engine and session factory, Alembic migrations."""

from twincore.platform.db.base import Base, utcnow
from twincore.platform.db.engine import create_db_engine, session_factory, session_scope

__all__ = ["Base", "create_db_engine", "session_factory", "session_scope", "utcnow"]
