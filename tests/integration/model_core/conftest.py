"""Fixtures for the default models: the Qwen GGUF is assembled once per test session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from twincore.model_core.weights import resolve_default_model


@pytest.fixture(scope="session")
def default_gguf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    """Resolve a default model's GGUF into one session-wide data dir (1.1 GB for Qwen, once)."""
    data_dir = tmp_path_factory.mktemp("var")

    def resolve(name: str) -> Path:
        return resolve_default_model(name, data_dir=data_dir)

    yield resolve
    for model_file in (data_dir / "models").glob("*"):
        model_file.unlink()
