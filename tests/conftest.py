"""Shared fixtures: every test starts with no TWINCORE_* variables, in an empty working folder."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from filelock import FileLock
from sqlalchemy import inspect

from twincore.platform.db import Base, create_db_engine
from twincore.platform.db.migrate import downgrade
from twincore.platform.db.registry import load_table_modules

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_WEIGHTS_ENV = "TC_TEST_SHARED_WEIGHTS"  # not TWINCORE_*: `isolated_env` removes those
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


# Each xdist worker gets its share of the cores for torch (and, through OMP_NUM_THREADS, for the
# processes it starts): two workers each running 2 OpenMP threads on 2 cores spin against each
# other, and CI spent up to four times a test's quiet-machine time that way. Settings that name
# threads (a core's `threads`, Ray's own per-actor OMP_NUM_THREADS) still win.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
    os.environ.setdefault("OMP_NUM_THREADS", str(_THREADS))
    torch.set_num_threads(_THREADS)


def pytest_configure(config: pytest.Config) -> None:
    """On the controller, one folder for default weights and converted cores, which every
    worker's session data dir links to (see tests/integration/conftest.py): each worker used to
    join the Qwen files and convert the same cores again."""
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        os.environ[SHARED_WEIGHTS_ENV] = tempfile.mkdtemp(prefix="twincore-test-weights-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        shutil.rmtree(os.environ.pop(SHARED_WEIGHTS_ENV, ""), ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Heavy files first: they form the longest work unit (see `pytest_xdist_make_scheduler`)."""
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in HEAVY_FILES)


def work_unit(nodeid: str) -> str:
    """The xdist work unit of a test: its file, or "heavy" for every file in HEAVY_FILES."""
    path = nodeid.split("::", 1)[0]
    return "heavy" if path in HEAVY_FILES else path


if importlib.util.find_spec("xdist") is not None:
    from xdist.scheduler import LoadScopeScheduling

    class FileUnitScheduling(LoadScopeScheduling):
        """One work unit per file (module fixtures built once), the heavy files as one unit.

        Our own scheduler rather than `xdist_group` marks: xdist 3.8 groups by rewriting
        `item._nodeid`, which pytest 9.2 no longer reads (the id lives in `_id`), so `--dist
        loadgroup` silently sent each test anywhere and two heavy tests ran at once."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    def pytest_xdist_make_scheduler(
        config: pytest.Config, log: object
    ) -> FileUnitScheduling | None:
        if config.getvalue("dist") not in ("loadgroup", "loadfile", "loadscope"):
            return None  # `-n N` alone or `--dist each`: xdist's own scheduler
        config.option.loadscopereorder = False  # keep the collection order: heavy unit first
        return FileUnitScheduling(config, log)  # type: ignore[arg-type]


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
