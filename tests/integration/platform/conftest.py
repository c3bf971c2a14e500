"""Platform fixtures: real SmolLM2 cores in-process, settings over a migrated SQLite file, and
a real HTTP server (`twincore.platform.embedded.serve_in_background`) where sockets matter."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def dead_core(name: str) -> CoreServer:
    """A real remote core whose endpoint refuses connections (nothing listens there)."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    return CoreServer.from_backend(OpenAIBackend(name, base_url=url, model=name, max_retries=0))


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
