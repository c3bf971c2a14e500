"""A client that hangs up cancels its generation in the core (real HTTP over loopback)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from twincore.model_core.backends.native import NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app
from twincore.platform.embedded import serve_in_background as serve_http
from twincore.platform.settings import Settings

LONG = {
    "model": "swift",
    "messages": [{"role": "user", "content": "Write a long story about a lighthouse."}],
    "max_tokens": 400,
}


def engine_of(cores: dict[str, CoreServer]) -> NativeBackend:
    backend = cores["swift"].backend
    assert isinstance(backend, NativeBackend)
    return backend


def wait_idle(backend: NativeBackend, timeout_s: float = 10.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = backend.engine.stats()
        if stats["running"] == 0 and stats["waiting"] == 0:
            return stats
        time.sleep(0.05)
    raise AssertionError(f"the engine still works after the client left: {stats}")


@pytest.mark.parametrize("stream", [True, False])
def test_hanging_up_cancels_the_generation(
    stream: bool, make_settings: Callable[..., Settings], smol_cores: dict[str, CoreServer]
) -> None:
    app, _ = build_embedded_app(make_settings(), smol_cores, components=())
    backend = engine_of(smol_cores)
    wait_idle(backend)
    before = backend.engine.stats()["generated_tokens"]
    with serve_http(app) as base_url, httpx.Client(base_url=base_url) as client:
        if stream:
            with client.stream("POST", "/v1/chat/completions", json={**LONG, "stream": True}) as r:
                lines = r.iter_lines()
                assert next(line for line in lines if line.startswith("data:"))
            # leaving the block closes the connection after the first token
        else:
            with pytest.raises(httpx.ReadTimeout):
                client.post("/v1/chat/completions", json=LONG, timeout=1.5)
        stats = wait_idle(backend)
    generated = stats["generated_tokens"] - before
    assert 0 < generated < 200, generated  # stopped long before its 400-token budget
