"""Alembic, driven from Python: upgrade, downgrade and current revision for a database URL."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from twincore.platform.components import migration_folders
from twincore.platform.db.engine import create_db_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for `url` with the migrations shipped inside the package (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # One revision chain over the platform's folder and each registered service's own.
    folders = [str(MIGRATIONS_DIR / "versions"), *migration_folders()]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(folders).replace("%", "%%"))
    # Alembic's config is ConfigParser-based: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations up to `revision` (creates the SQLite file and its folder if needed)."""
    create_db_engine(url).dispose()
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Revert migrations down to `revision` ("base" removes every table)."""
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> list[str]:
    """The revisions the database is at (empty when no migration has been applied)."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return list(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def heads() -> list[str]:
    """The newest revisions shipped with this version of Twincore."""
    return list(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
