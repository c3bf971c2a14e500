"""Alembic environment: runs the package's migrations against the URL the caller configured."""

from __future__ import annotations

from alembic import context

from twincore.platform.db.base import Base
from twincore.platform.db.engine import create_db_engine
from twincore.platform.db.registry import load_table_modules

load_table_modules()
target_metadata = Base.metadata


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic config has no sqlalchemy.url; use twincore.platform.db.migrate")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            # Batch mode rewrites ALTER TABLE as copy-and-swap, which SQLite needs.
            context.configure(
                connection=connection, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
