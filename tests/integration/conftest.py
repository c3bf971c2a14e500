"""Integration fixtures shared across packages: one data dir per session for default weights."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Assembled default weights and converted core caches, built once per test session and
    removed after it (about 3 GB with Qwen)."""
    data_dir = tmp_path_factory.mktemp("var")
    yield data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
