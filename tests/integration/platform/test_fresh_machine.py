"""A machine without bubblewrap (PATH without `bwrap`): the in-process platform on real SmolLM2
cores answers code generation with a 503 naming the install command (REST and the codegen
screen), `/readyz` names it with `ready: false`, and the other services and the chat API work."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import gradio as gr
import httpx
import pytest

from twincore.apps.codegen import generate as screen_generate
from twincore.platform.components import LocalServiceClient
from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app
from twincore.platform.errors import user_message
from twincore.platform.router.setup import build_router
from twincore.platform.sandbox.runner import SandboxUnavailableError
from twincore.platform.settings import Settings
from twincore.services.codegen.component import COMPONENTS as CODEGEN
from twincore.services.codegen.service import CodegenService
from twincore.services.tutor.component import COMPONENTS as TUTOR

pytestmark = pytest.mark.anyio

INSTALL = "sudo apt-get install bubblewrap"
ADD = "def add(a, b):\n    return a + b\n"


def path_without(tool: str, folder: Path) -> str:
    """A PATH of one folder linking every program of the current PATH except `tool`."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not Path(directory).is_dir():
            continue
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name != tool and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(folder)


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings],
    smol_cores: dict[str, CoreServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("PATH", path_without("bwrap", tmp_path / "bin"))
    assert shutil.which("bwrap") is None and shutil.which("python3") is not None
    services = [*CODEGEN, *TUTOR]
    app, _state = build_embedded_app(make_settings(), smol_cores, components=services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=120) as http:
        yield http


async def test_codegen_without_bwrap_is_a_503_and_readyz_names_it(
    client: httpx.AsyncClient,
) -> None:
    run = await client.post("/v1/codegen/run", json={"language": "python", "code": ADD})
    generated = await client.post(
        "/v1/codegen/generate", json={"language": "cpp", "spec": "add two ints", "model": "swift"}
    )
    for response in (run, generated):
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["type"] == "service_unavailable"
        assert "bwrap" in error["message"] and INSTALL in error["message"]
    assert (await client.get("/v1/codegen/runs")).json() == []  # refused before storing

    ready = await client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and body["ok"] is True  # the cores serve
    assert body["ready"] is False
    assert {c["state"] for c in body["cores"].values()} == {"ready"}
    codegen = body["services"]["codegen"]
    assert codegen["state"] == "unavailable" and codegen["missing"] == ["bwrap"]
    assert codegen["install"].startswith(INSTALL)
    assert body["services"]["tutor"] == {"ok": True, "state": "ready"}
    assert (await client.get("/readyz", params={"full": "true"})).status_code == 503

    # The other services and the OpenAI API still work.
    check = await client.post(
        "/v1/tutor/check", json={"problem": "2x + 3 = 7", "steps": ["2x = 4", "x = 2"]}
    )
    assert check.status_code == 200 and check.json()["correct"] is True, check.text
    chat = await client.post(
        "/v1/chat/completions",
        json={"model": "swift", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
    )
    assert chat.status_code == 200, chat.text


async def test_the_codegen_screen_and_the_facade_say_what_to_install(
    make_settings: Callable[..., Settings],
    smol_cores: dict[str, CoreServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PATH", path_without("bwrap", tmp_path / "bin"))
    settings = make_settings()
    service = CodegenService(build_router(smol_cores, settings), settings)
    with pytest.raises(SandboxUnavailableError) as raised:  # the facade a replica calls
        await service.run(language="java", code="class A {}")
    assert raised.value.status == 503 and INSTALL in user_message(raised.value)
    with pytest.raises(gr.Error) as shown:
        async for _ in screen_generate(
            LocalServiceClient(service), "python", "swift", "add two numbers", "", "", 1
        ):
            pass
    assert "bwrap" in str(shown.value.message) and INSTALL in str(shown.value.message)
    assert (await service.runs()) == []
