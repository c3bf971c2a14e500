"""Fixtures for the default models: the Qwen GGUF is assembled once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from twincore.model_core.weights import resolve_default_model


@pytest.fixture(scope="session")
def default_gguf(session_data_dir: Path) -> Callable[[str], Path]:
    """Resolve a default model's GGUF into the session-wide data dir (1.1 GB for Qwen, once)."""

    def resolve(name: str) -> Path:
        return resolve_default_model(name, data_dir=session_data_dir)

    return resolve
