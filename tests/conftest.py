"""Shared fixtures: every test starts with no TWINCORE_* variables, in an empty working folder."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import inspect

from twincore.platform.db import Base, create_db_engine
from twincore.platform.db.migrate import downgrade
from twincore.platform.db.registry import load_table_modules

REPO_ROOT = Path(__file__).resolve().parents[1]
# Read before any test clears the environment: CI sets it to a live PostgreSQL database.
POSTGRES_URL = os.environ.get("TWINCORE_DATABASE_URL", "")
# Files that start a whole platform on Ray or load the 1.5B deep core. Converting that core
# peaks at 9.3 GB, so two of these at once on the two xdist workers overflow the CI machine's
# 24 GiB (Ray's memory monitor then kills the Serve controller): they share one xdist group.
HEAVY_FILES = frozenset(
    {
        "tests/integration/deploy/test_multinode.py",
        "tests/integration/model_core/test_default_models.py",
        "tests/integration/model_core/engine/test_speculative_qwen.py",
        "tests/integration/platform/test_serve_app.py",
        "tests/integration/platform/test_up.py",
    }
)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks (--dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One xdist group per file, as `--dist loadfile` would (module fixtures built once), except
    the heavy files, which form one group, scheduled first because it is the longest."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("heavy" if path in HEAVY_FILES else path))
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in HEAVY_FILES)


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
    # One PostgreSQL database serves every xdist worker: a test holds it alone from the first
    # drop to the last, or two workers' migrations collide (alembic_version created twice).
    name = hashlib.sha256(POSTGRES_URL.encode()).hexdigest()[:16]
    with FileLock(Path(tempfile.gettempdir()) / f"twincore-postgres-{name}.lock"):
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
