"""`twincore up` as a user runs it: serves the API and docs, and Ctrl-C leaves no Ray behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from .conftest import free_port

START_TIMEOUT_S = 300


def read_lines(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    lines.extend(iter(proc.stdout.readline, ""))


def wait_until_up(proc: subprocess.Popen[str], lines: list[str]) -> None:
    """Until `up` says it is up (every deployment ready, URLs printed)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not any("Twincore is up" in line for line in lines):
        assert proc.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "twincore up did not come up in time"
        time.sleep(0.5)


def ignore_sigint() -> None:
    # What a shell does to background jobs: `up` must still stop on Ctrl-C sent to it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_serves_then_stops_every_ray_process(
    stop: signal.Signals, session_data_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TWINCORE_DATA_DIR": str(session_data_dir),
        "TWINCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'twincore.db'}",
        "TWINCORE_GATEWAY__PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "twincore", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore_sigint,
    )
    lines: list[str] = []
    reader = threading.Thread(target=read_lines, args=(proc, lines), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, lines)
        # Dev mode: a loopback client with any bearer token is served.
        answer = httpx.post(
            f"{base}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
            headers={"Authorization": "Bearer sk-local"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert httpx.get(f"{base}/docs").status_code == 200
        ray_processes = psutil.Process(proc.pid).children(recursive=True)
        assert any("raylet" in " ".join(p.cmdline()) for p in ray_processes)
        proc.send_signal(stop)
        proc.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}/docs" in output and "/ui/playground" in output
    _, alive = psutil.wait_procs(ray_processes, timeout=20)
    assert not alive, [p.cmdline() for p in alive]
