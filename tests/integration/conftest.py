"""Integration fixtures shared across packages: one data dir per session for default weights,
real SmolLM2 cores in-process, settings over a migrated SQLite file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from twincore.model_core.backends.core_cache import CORES_DIR
from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Assembled default weights and converted core caches, built once per test session and
    removed after it (about 3 GB with Qwen)."""
    data_dir = tmp_path_factory.mktemp("var")
    # Joined weights and converted cores are the same for every worker: they live in the
    # controller's folder (tests/conftest.py), written atomically, so workers share them.
    shared = Path(os.environ["TC_TEST_SHARED_WEIGHTS"])
    for name in ("models", CORES_DIR):
        (shared / name).mkdir(exist_ok=True)
        (data_dir / name).symlink_to(shared / name, target_is_directory=True)
    yield data_dir
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def smol_cores(session_data_dir: Path) -> Iterator[dict[str, CoreServer]]:
    """Two real cores on SmolLM2 (int8), named like the platform's."""
    backends = {
        name: NativeBackend(CoreProfile(name, SMOL), data_dir=session_data_dir)
        for name in ("deep", "swift")
    }
    yield {name: CoreServer.from_backend(b) for name, b in backends.items()}
    for backend in backends.values():
        backend.close()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings over a fresh, migrated SQLite file; keyword overrides as in twincore.yaml."""

    def make(**overrides: Any) -> Settings:
        settings = Settings(
            data_dir=tmp_path / "var",
            database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
            **overrides,
        )
        upgrade(settings.database_url)
        return settings

    return make


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`pytest.mark.anyio`) run on asyncio, the loop Ray Serve and uvicorn use."""
    return "asyncio"
