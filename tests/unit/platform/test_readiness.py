"""Readiness that tells the truth: each core's state in the router's health, each service's
report (codegen: the sandbox tools each language needs), and what `twincore up` prints."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest

from twincore.model_core.backends.base import CoreRequest
from twincore.platform.cli.up_cmd import core_progress, readiness_lines
from twincore.platform.components import ServiceComponent, service_readiness
from twincore.platform.errors import describe
from twincore.platform.router import router as router_module
from twincore.platform.router.router import Router
from twincore.platform.router.types import CoreEvent
from twincore.platform.sandbox.runner import SandboxUnavailableError
from twincore.services.codegen.service import require_sandbox, sandbox_readiness

pytestmark = pytest.mark.anyio


class HealthCore:
    """A core whose health answers, raises or hangs, as the test sets `mode`."""

    def __init__(self, name: str, mode: str = "ok") -> None:
        self.name, self.mode = name, mode

    async def generate(self, request: CoreRequest) -> AsyncGenerator[CoreEvent, None]:
        events: tuple[CoreEvent, ...] = ()  # health only: never asked to generate
        for event in events:
            yield event

    async def health(self) -> dict[str, Any]:
        if self.mode == "hang":
            await asyncio.sleep(60)
        if self.mode == "raise":
            raise ConnectionError("replica died")
        return {"ok": self.mode == "ok", "running": 0, "waiting": 0}

    async def info(self) -> dict[str, Any]:
        return {}


async def test_core_states_loading_ready_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router_module, "HEALTH_TIMEOUT_S", 0.05)
    deep, swift = HealthCore("deep", "hang"), HealthCore("swift", "ok")
    router = Router({"deep": deep, "swift": swift})
    health = await router.health()
    assert health["ok"] is True
    assert health["cores"]["swift"]["state"] == "ready"
    loading = health["cores"]["deep"]
    assert loading["state"] == "loading" and "still loading" in loading["reason"]
    deep.mode = "ok"
    assert (await router.health())["cores"]["deep"]["state"] == "ready"
    deep.mode = "hang"  # it answered before: not answering now is a failure
    hung = (await router.health())["cores"]["deep"]
    assert hung["state"] == "failed" and "did not answer" in hung["reason"]
    deep.mode, swift.mode = "raise", "not-ok"
    health = await router.health()
    assert health["ok"] is False
    assert health["cores"]["deep"]["reason"] == "ConnectionError: replica died"
    assert health["cores"]["swift"]["state"] == "failed" and health["cores"]["swift"]["reason"]


class Reporter:
    def __init__(self, report: Any = None, *, delay: float = 0.0) -> None:
        self.report, self.delay = report, delay

    async def readiness(self) -> dict[str, Any]:
        await asyncio.sleep(self.delay)
        if isinstance(self.report, Exception):
            raise self.report
        return dict(self.report)


def component(readiness: str | None) -> ServiceComponent:
    return ServiceComponent(name="demo", factory="x:y", api="x:z", readiness=readiness)


async def test_service_readiness_hook() -> None:
    assert await service_readiness(component(None), object()) == {"ok": True, "state": "ready"}
    hook = component("readiness")
    missing = {"ok": False, "reason": "no tool", "install": "apt-get install tool"}
    report = await service_readiness(hook, Reporter(missing))
    assert report["state"] == "unavailable" and report["install"] == "apt-get install tool"
    assert (await service_readiness(hook, Reporter({"ok": 1})))["state"] == "ready"
    broken = await service_readiness(hook, Reporter(RuntimeError("down")))
    assert broken["ok"] is False and "RuntimeError: down" in broken["reason"]
    slow = await service_readiness(hook, Reporter({"ok": True}, delay=1.0), timeout_s=0.05)
    assert slow["ok"] is False and "did not answer" in slow["reason"]


def plant(folder: Path, *tools: str) -> str:
    folder.mkdir(parents=True)
    for tool in tools:
        (folder / tool).write_text("#!/bin/sh\n")
        (folder / tool).chmod(0o755)
    return str(folder)


def test_codegen_readiness_per_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", plant(tmp_path / "none"))
    none = sandbox_readiness()
    assert none["state"] == "unavailable" and none["missing"] == ["bwrap", "javac", "g++"]
    assert none["install"] == "sudo apt-get install bubblewrap default-jdk-headless g++"
    monkeypatch.setenv("PATH", plant(tmp_path / "some", "bwrap", "g++"))
    some = sandbox_readiness()
    assert some["state"] == "degraded" and some["ok"] is False
    assert some["languages"] == {"python": True, "java": False, "cpp": True}
    require_sandbox("python")
    require_sandbox("cpp")
    with pytest.raises(SandboxUnavailableError, match="default-jdk-headless") as raised:
        require_sandbox("java")
    assert "bubblewrap" not in str(raised.value)  # only what is missing
    monkeypatch.setenv("PATH", plant(tmp_path / "all", "bwrap", "g++", "javac"))
    assert sandbox_readiness() == {
        "ok": True,
        "state": "ready",
        "languages": {"python": True, "java": True, "cpp": True},
    }


def test_the_sandbox_error_stays_a_503_across_a_process_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", plant(tmp_path / "none"))
    with pytest.raises(SandboxUnavailableError) as raised:
        require_sandbox("python")
    crossed = pickle.loads(pickle.dumps(raised.value))  # what a Ray replica sends back
    status, kind, message, _, _ = describe(crossed)
    assert (status, kind) == (503, "service_unavailable")
    assert "bwrap" in message and "sudo apt-get install bubblewrap" in message


def test_up_prints_each_core_once_as_it_becomes_ready() -> None:
    shown: set[str] = set()
    assert core_progress({"deep": ("UPDATING", "")}, shown, 3.0) == []
    lines = core_progress({"deep": ("UPDATING", ""), "swift": ("HEALTHY", "")}, shown, 12.4)
    assert lines == ["  core swift ready after 12s"]
    states = {"deep": ("HEALTHY", ""), "swift": ("HEALTHY", ""), "router": ("HEALTHY", "")}
    assert core_progress(states, shown, 41.0) == ["  core deep  ready after 41s"]
    assert core_progress(states, shown, 42.0) == []
    failed = core_progress({"deep": ("UNHEALTHY", "out of memory")}, set(), 5.0)
    assert failed == ["  core deep  failed to start: out of memory"]


def test_up_prints_core_states_and_unavailable_services() -> None:
    readyz = {
        "cores": {
            "deep": {"ok": False, "state": "loading", "reason": "still loading"},
            "swift": {"ok": True, "state": "ready"},
        },
        "services": {
            "codegen": {
                "ok": False,
                "state": "unavailable",
                "reason": "sandbox tools missing: bwrap",
                "install": "sudo apt-get install bubblewrap",
            },
            "tutor": {"ok": True, "state": "ready"},
        },
    }
    assert readiness_lines(readyz) == [
        "  core deep  loading: still loading",
        "  core swift ready",
        "  service codegen unavailable: sandbox tools missing: bwrap; "
        "install with `sudo apt-get install bubblewrap`",
    ]
