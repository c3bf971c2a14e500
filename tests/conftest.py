"""Shared fixtures: every test starts with no TWINCORE_* variables, in an empty working folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from twincore.platform.db import Base, create_db_engine
from twincore.platform.db.migrate import downgrade
from twincore.platform.db.registry import load_table_modules

REPO_ROOT = Path(__file__).resolve().parents[1]
# Read before any test clears the environment: CI sets it to a live PostgreSQL database.
POSTGRES_URL = os.environ.get("TWINCORE_DATABASE_URL", "")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No TWINCORE_* variables and a fresh cwd, so no developer config leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TWINCORE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no Twincore tables: a new SQLite file, or the CI PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("TWINCORE_DATABASE_URL is not set (CI sets it to a PostgreSQL database)")
    _drop_everything(POSTGRES_URL)
    yield POSTGRES_URL
    _drop_everything(POSTGRES_URL)


def _drop_everything(url: str) -> None:
    downgrade(url, "base")
    load_table_modules()
    engine = create_db_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        if "alembic_version" in inspect(connection).get_table_names():
            connection.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()
