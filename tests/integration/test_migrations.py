"""Migrations up and down on a real SQLite file, and on PostgreSQL when CI provides one."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from twincore.platform.db import Base, create_db_engine
from twincore.platform.db.migrate import current, downgrade, heads, upgrade
from twincore.platform.db.registry import load_table_modules

PLATFORM_TABLES = {"api_keys", "request_log"}


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_then_downgrade_to_base(database_url: str) -> None:
    assert current(database_url) == []
    upgrade(database_url)
    assert current(database_url) == heads()
    assert _tables(database_url) >= PLATFORM_TABLES
    downgrade(database_url, "base")
    assert current(database_url) == []
    assert _tables(database_url) == set()
    upgrade(database_url)  # and back up: downgrades leave nothing that blocks a re-run
    assert current(database_url) == heads()


def test_migrations_match_the_models(database_url: str) -> None:
    # A model changed without a migration shows up here as a non-empty diff.
    load_table_modules()
    upgrade(database_url)
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/wal.db"
    upgrade(url)
    engine = create_db_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
