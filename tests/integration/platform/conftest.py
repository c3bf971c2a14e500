"""Platform helpers: free ports, and a remote core whose endpoint refuses connections (the
SmolLM2 cores and settings fixtures live in tests/integration/conftest.py)."""

from __future__ import annotations

import socket

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.cores import CoreServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_core(name: str) -> CoreServer:
    """A real remote core whose endpoint refuses connections (nothing listens there)."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    return CoreServer.from_backend(OpenAIBackend(name, base_url=url, model=name, max_retries=0))
