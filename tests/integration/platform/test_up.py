"""`twincore up` and `twincore serve` as a user runs them: they serve, a start cleans what a
killed run left (saying so), and Ctrl-C or SIGTERM leaves no Ray process and no graph daemon
behind."""

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
import yaml

from twincore.platform.cleanup import run_records

from .conftest import free_port
from .test_clean_stop import RUN, graph_servers, in_session, start_and_kill

START_TIMEOUT_S = 300
SMOL = "smollm2-135m-instruct"
ORDER_QUESTION = "Status of my order 10248?"  # support answers it by template, with no model


def read_lines(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    lines.extend(iter(proc.stdout.readline, ""))


def wait_for_line(proc: subprocess.Popen[str], lines: list[str], text: str) -> None:
    """Until the command prints `text` (for `up`: every deployment ready, URLs printed)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not any(text in line for line in lines):
        assert proc.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, f"no {text!r} in time:\n{''.join(lines)}"
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
    graph = session_data_dir / "graph.db"
    killed_daemon: int | None = None
    if stop == signal.SIGTERM:
        # The default cores are checked under Ctrl-C; SmolLM2 serves both here, for less time.
        env |= {"TWINCORE_CORES__DEEP__MODEL": SMOL, "TWINCORE_CORES__SWIFT__MODEL": SMOL}
        # A run SIGKILLed before (its Ray processes and the graph daemon its replica started
        # outlive it): this start must stop them first and say so.
        killed_daemon = start_and_kill(RUN, session_data_dir)
        [killed] = run_records(session_data_dir)
        assert graph_servers(graph) == [killed_daemon]
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
        wait_for_line(proc, lines, "Twincore is up")
        if killed_daemon is not None:
            started = "".join(lines)
            assert "cleaned up after an earlier run" in started, started
            assert killed.session_dir in started and str(killed_daemon) in started, started
            leftovers = [p for p in psutil.process_iter(["cmdline"]) if in_session(p, killed)]
            assert leftovers == [] and killed_daemon not in graph_servers(graph)
        # Dev mode: a loopback client with any bearer token is served.
        answer = httpx.post(
            f"{base}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
            headers={"Authorization": "Bearer sk-local"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        if stop == signal.SIGINT:
            # Both cores on the default weights: deep drafted by swift's model, swift answering.
            models = httpx.get(f"{base}/v1/models", timeout=30).json()["data"]
            info = {m["id"]: m["twincore"] for m in models}
            assert info["deep"]["model"] == "qwen2.5-coder-1.5b-instruct"
            assert info["deep"]["draft"] == info["swift"]["model"] == "qwen2.5-coder-0.5b-instruct"
        swift = httpx.post(
            f"{base}/v1/chat/completions",
            json={
                "model": "swift",
                "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 2,
            },
            headers={"Authorization": "Bearer sk-local"},
            timeout=60,
        )
        assert swift.status_code == 200 and swift.headers["x-twincore-core"] == "swift", swift.text
        assert httpx.get(f"{base}/docs").status_code == 200
        # Support's replica starts the embedded graph daemon, which Ray's shutdown skips.
        support = httpx.post(
            f"{base}/v1/support/ask", json={"question": ORDER_QUESTION}, timeout=60
        )
        assert support.status_code == 200, support.text
        assert len(graph_servers(graph)) == 1
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
    assert graph_servers(graph) == []  # the graph daemon stopped with the platform


def test_serve_deploys_a_serve_config_file(session_data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "serve.yaml"
    app = {
        "name": "twincore",
        "route_prefix": "/",
        "import_path": "twincore.platform.app:build_app",
        "args": {
            "cores": {
                "deep": {"model": "smollm2-135m-instruct"},
                "swift": {"model": "smollm2-135m-instruct"},
            }
        },
    }
    spec = {"http_options": {"host": "127.0.0.1", "port": port}, "applications": [app]}
    config.write_text(yaml.safe_dump(spec))
    env = {
        **os.environ,
        "TWINCORE_DATA_DIR": str(session_data_dir),
        "TWINCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'twincore.db'}",
    }
    subprocess.run([sys.executable, "-m", "twincore", "db", "upgrade"], env=env, check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "twincore", "serve", "--config", str(config)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=read_lines, args=(proc, lines), daemon=True).start()
    try:
        wait_for_line(proc, lines, "deployed twincore at /")
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()
        deep = next(m for m in models["data"] if m["id"] == "deep")
        assert deep["twincore"]["model"] == "smollm2-135m-instruct"  # the file's args applied
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(lines)
