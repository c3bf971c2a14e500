"""deploy/serve.yaml on a real two-node Ray cluster on this machine: a head (`ray start --head`)
and a core node (`ray start --address`, advertising `twincore_core`), each with its own temp
dir. The cores land on the core node, chat completions go through the gateway behind the
head's proxy, a killed core replica falls back to the other core while the Serve controller
brings it back, and no Ray process outlives the test.

What the file's production values need and this machine lacks is overridden, nothing else: the
deep core runs SmolLM2 (the 1.5B default is too slow here), one thread and one CPU per core,
one gateway replica, and the proxy on the head only (two proxies on one host would share a
port).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml

SERVE_YAML = Path(__file__).resolve().parents[3] / "deploy" / "serve.yaml"
SMOL = "smollm2-135m-instruct"
DEPLOY_TIMEOUT_S = 420
# Seconds of prefill on one thread: long enough to kill the replica before its first token.
LONG_PROMPT = "Summarise this list of numbers: " + " ".join(str(n) for n in range(250))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_ports() -> list[str]:
    """Every port a node binds, chosen free: two nodes on one host must not collide."""
    names = (
        "node-manager-port",
        "object-manager-port",
        "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port",
        "metrics-export-port",
        "runtime-env-agent-port",
    )
    return [f"--{name}={free_port()}" for name in names]


@dataclass
class Cluster:
    """The Ray processes this test started (by temp dir) and everything they spawned."""

    head_dir: Path
    worker_dir: Path
    address: str
    env: dict[str, str]
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def raylet(self, temp_dir: Path) -> psutil.Process:
        for proc in psutil.process_iter(["cmdline", "name"]):
            line = " ".join(proc.info["cmdline"] or ())
            if "raylet" in (proc.info["name"] or "") and str(temp_dir) in line:
                return proc
        raise AssertionError(f"no raylet for {temp_dir}")

    def remember(self) -> None:
        """Record our processes now: a worker's command line loses the temp dir once it sets
        its title, so descendants are tracked from the processes that keep it."""
        for proc in psutil.process_iter(["cmdline"]):
            line = " ".join(proc.info["cmdline"] or ())
            if str(self.head_dir) in line or str(self.worker_dir) in line:
                for found in [proc, *_children(proc)]:
                    self.seen[found.pid] = found

    def replicas(self, deployment: str, temp_dir: Path) -> list[psutil.Process]:
        """Replica processes of `deployment` under the node of `temp_dir`."""
        title = f"ServeReplica:twincore:{deployment}"
        found = [p for p in _children(self.raylet(temp_dir)) if title in _title(p)]
        self.remember()
        return found


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def _title(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def ray_start(args: list[str], env: dict[str, str]) -> None:
    ray = str(Path(sys.executable).with_name("ray"))
    result = subprocess.run(
        [ray, "start", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def stop_everything(cluster: Cluster) -> None:
    """SIGTERM, then SIGKILL, to exactly the processes of this cluster (never `ray stop`,
    which would stop every Ray on the machine)."""
    cluster.remember()
    procs = [p for p in cluster.seen.values() if p.is_running()]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=15)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=10)


@pytest.fixture(scope="module")
def cluster(session_data_dir: Path) -> Iterator[Cluster]:
    # Short paths under /tmp: Ray's Unix sockets live in the temp dir (108-byte limit).
    head_dir = Path(tempfile.mkdtemp(prefix="tc-head-", dir="/tmp"))
    worker_dir = Path(tempfile.mkdtemp(prefix="tc-core-", dir="/tmp"))
    database = Path(tempfile.mkdtemp(prefix="tc-db-", dir="/tmp")) / "twincore.db"
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        # What a real cluster gets from its secrets and config maps: every node's environment.
        "TWINCORE_DATA_DIR": str(session_data_dir),
        "TWINCORE_DATABASE_URL": f"sqlite:///{database}",
    }
    subprocess.run([sys.executable, "-m", "twincore", "db", "upgrade"], env=env, check=True)
    port = free_port()
    cluster = Cluster(head_dir, worker_dir, f"127.0.0.1:{port}", env)
    try:
        common = ["--node-ip-address=127.0.0.1", "--disable-usage-stats", *node_ports()]
        ray_start(
            [
                "--head",
                f"--port={port}",
                f"--temp-dir={head_dir}",
                "--num-cpus=1",
                "--include-dashboard=false",
                "--object-store-memory=100000000",
                *common,
            ],
            env,
        )
        cluster.remember()
        ray_start(
            [
                f"--address={cluster.address}",
                f"--temp-dir={worker_dir}",
                "--num-cpus=2",
                '--resources={"twincore_core": 2}',
                "--object-store-memory=100000000",
                "--node-ip-address=127.0.0.1",
                "--disable-usage-stats",
                *node_ports(),
            ],
            env,
        )
        cluster.remember()
        yield cluster
    finally:
        stop_everything(cluster)
        alive = [p for p in cluster.seen.values() if p.is_running() and p.status() != "zombie"]
        for directory in (head_dir, worker_dir, database.parent):
            shutil.rmtree(directory, ignore_errors=True)
        assert not alive, [_title(p) for p in alive]


def serve_config(tmp_path: Path, http_port: int) -> Path:
    """deploy/serve.yaml with only the overrides this machine needs (module docstring)."""
    spec: dict[str, Any] = yaml.safe_load(SERVE_YAML.read_text())
    spec["proxy_location"] = "HeadOnly"
    spec["http_options"] = {"host": "127.0.0.1", "port": http_port}
    args = spec["applications"][0]["args"]
    args["gateway"]["autoscaling"]["min_replicas"] = 1
    for core in args["cores"].values():
        core.update({"model": SMOL, "threads": 1, "num_cpus": 1})
        core.pop("draft", None)  # the file's draft shares Qwen's tokenizer, not SmolLM2's
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def read_lines(proc: subprocess.Popen[str], lines: list[str]) -> None:
    assert proc.stdout is not None
    lines.extend(iter(proc.stdout.readline, ""))


def chat(base: str, model: str, prompt: str = "Say hello.") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 4}
    return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=180)


def wait_until_busy(base: str, core: str, timeout_s: float = 60) -> None:
    """Until the core reports a request running or queued (its health, through /readyz)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/readyz", timeout=30).json()["cores"][core]
        if state.get("running") or state.get("waiting"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{core} never started the request")


def test_serve_yaml_on_two_nodes_survives_a_killed_core(cluster: Cluster, tmp_path: Path) -> None:
    http_port = free_port()
    config = serve_config(tmp_path, http_port)
    serve = subprocess.Popen(
        [
            *(sys.executable, "-m", "twincore", "serve", "--config", str(config)),
            *("--address", cluster.address, "--timeout", str(DEPLOY_TIMEOUT_S)),
        ],
        env=cluster.env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=read_lines, args=(serve, lines), daemon=True).start()
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + DEPLOY_TIMEOUT_S + 30
        while not any("deployed twincore at /" in line for line in lines):
            assert serve.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(1)
        cluster.remember()

        # Both cores run on the core node, none on the head.
        for core in ("deep", "swift"):
            assert len(cluster.replicas(core, cluster.worker_dir)) == 1, core
            assert cluster.replicas(core, cluster.head_dir) == [], core

        for model in ("deep", "swift"):
            answer = chat(base, model)
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-twincore-core"] == model

        # Kill the deep replica while it prefills a long prompt (before its first token): the
        # request is answered by swift instead ...
        (victim,) = cluster.replicas("deep", cluster.worker_dir)
        pending: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: pending.append(chat(base, "deep", LONG_PROMPT)), daemon=True
        )
        request.start()
        wait_until_busy(base, "deep")
        victim.kill()
        victim.wait(timeout=10)
        request.join(timeout=180)
        (answer,) = pending
        assert answer.status_code == 200, answer.text
        decision = answer.json()["twincore"]
        assert answer.headers["x-twincore-core"] == "swift"
        assert decision["fallback_from"] == "deep", decision

        # ... and the controller starts a new deep replica on the core node, which serves again.
        deadline = time.monotonic() + 180
        while True:
            deep = cluster.replicas("deep", cluster.worker_dir)
            if [p for p in deep if p.pid != victim.pid]:
                answer = chat(base, "deep")
                assert answer.status_code == 200, answer.text
                if answer.headers["x-twincore-core"] == "deep":
                    break
            assert time.monotonic() < deadline, "the deep replica did not come back"
            time.sleep(2)
        assert answer.json()["twincore"]["fallback_from"] is None
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
    assert serve.returncode == 0, "".join(lines)
