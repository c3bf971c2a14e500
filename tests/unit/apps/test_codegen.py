"""The code generation screen's handler over a fake service client: the loop's events arrive
pickled (as over a Ray handle) and are shown as code, sandbox log and verdict; any failure is
one plain sentence in a `gr.Error`."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gradio as gr
import pytest

from twincore.apps.codegen import availability, generate, verdict_line
from twincore.platform.errors import Invalid
from twincore.platform.sandbox.runner import RunResult
from twincore.services.codegen.loop import LoopEvent
from twincore.services.codegen.service import StoredRun

FAILED = RunResult("failed", 1, "", "AssertionError", 0.05, 0.04, reason="exit code 1")
PASSED = RunResult("ok", 0, "", "", 0.05, 0.04)
VIEW = {
    "id": 7,
    "status": "passed",
    "best_candidate": 0,
    "core": "swift",
    "candidates": [{"attempts": [{"status": "failed"}, {"status": "ok"}]}],
}
EVENTS: list[Any] = [
    LoopEvent("text", 0, 0, text="def add(a, b): return a -"),
    LoopEvent("text", 0, 0, text=" b"),
    LoopEvent("result", 0, 0, text="def add(a, b): return a - b\n", result=FAILED),
    LoopEvent("text", 0, 1, text="def add(a, b): return a + b", step="repair", core="swift"),
    LoopEvent("result", 0, 1, text="def add(a, b): return a + b\n", result=PASSED),
    LoopEvent("verdict", 0, 1, text="passed", result=PASSED, decision={"core": "swift"}),
    StoredRun(VIEW),
]


class FakeClient:
    """Streams what a service deployment would: every item through pickle, or an error."""

    def __init__(self, items: list[Any], error: Exception | None = None) -> None:
        self.items, self.error = items, error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def _items(self) -> AsyncIterator[Any]:
        for item in self.items:
            yield pickle.loads(pickle.dumps(item))
        if self.error is not None:
            raise self.error

    def stream_call(self, method: str, /, **kwargs: Any) -> AsyncIterator[Any]:
        self.calls.append((method, kwargs))
        return self._items()


def collect(client: FakeClient) -> list[tuple[str, str, str]]:
    async def run() -> list[tuple[str, str, str]]:
        updates = generate(client, "python", "swift", "add", "def add(a, b):", "assert 1", 2.0)
        return [update async for update in updates]

    # A thread of its own: a session that already drove Playwright keeps a loop running here.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_stream_items_survive_pickling_unchanged() -> None:
    for item in EVENTS:
        assert pickle.loads(pickle.dumps(item)) == item


def test_the_handler_shows_each_round_and_the_stored_verdict() -> None:
    client = FakeClient(EVENTS)
    updates = collect(client)
    assert client.calls == [
        (
            "stream",
            {
                "language": "python",
                "spec": "add",
                "signature": "def add(a, b):",
                "tests": "assert 1",
                "model": "swift",
                "samples": 1,
                "rounds": 2,
            },
        )
    ]
    assert updates[1][0] == "def add(a, b): return a - b"  # the reply as it streams
    assert updates[3][0] == "def add(a, b): return a + b"  # a repair round starts afresh
    code, log, verdict = updates[-1]
    assert code == "def add(a, b): return a + b\n"
    assert "--- round 0 (candidate 0) ---\nstatus: failed (exit code 1)" in log
    assert "--- round 1 (candidate 0) ---\nstatus: ok" in log
    assert verdict == "PASSED after 1 repair round(s) (run 7, core swift)"
    # While it runs: which round, and the core once the router has said.
    assert updates[0][2] == "Round 0, candidate 0: writing ..."
    assert updates[2][2] == "Round 0, candidate 0: checked in the sandbox ..."
    assert updates[3][2] == "Round 1 (repair), candidate 0: writing on swift ..."


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (Invalid("give a spec, a signature, or both"), "Give a spec, a signature, or both"),
        (RuntimeError("/srv/twincore/secret.py exploded"), "Something went wrong on the server"),
    ],
)
def test_failures_become_one_plain_sentence(error: Exception, message: str) -> None:
    with pytest.raises(gr.Error) as raised:
        collect(FakeClient(EVENTS[:2], error))
    assert str(raised.value.message).startswith(message)
    assert "secret.py" not in str(raised.value.message)


def test_a_run_without_candidates_still_has_a_verdict() -> None:
    view = {"id": 3, "status": "failed", "best_candidate": None, "core": None}
    assert verdict_line(view) == "FAILED (run 3, core ?)"


class ToolsClient:
    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report

    async def readiness(self) -> dict[str, Any]:
        return self.report


def test_the_screen_says_which_languages_lack_tools_and_how_to_install_them() -> None:
    def notice(report: dict[str, Any]) -> str:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, availability(ToolsClient(report))).result()

    assert notice({"ok": True, "state": "ready"}) == ""
    missing = notice(
        {
            "ok": False,
            "languages": {"python": True, "java": False, "cpp": True},
            "reason": "sandbox tools missing: javac",
            "install": "sudo apt-get install default-jdk-headless",
        }
    )
    assert "for java:" in missing and "sandbox tools missing: javac" in missing
    assert "`sudo apt-get install default-jdk-headless`" in missing
