"""`twincore doctor`: each probe on this machine or a planted one (PATH, a bound port, a numbers
stub), and the command itself through Typer's runner."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twincore.platform import doctor
from twincore.platform.cli.main import build_cli
from twincore.platform.settings import CoreConfig, Settings

GIB = 1 << 30


def planted_path(tmp_path: Path, *tools: str) -> str:
    """A PATH folder holding executable stand-ins for `tools` only."""
    folder = tmp_path / "bin"
    folder.mkdir(parents=True)
    for tool in tools:
        program = folder / tool
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
    return str(folder)


def test_missing_tools_and_their_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", planted_path(tmp_path, "bwrap"))
    assert doctor.missing_tools() == ["javac", "g++"]
    assert doctor.install_command(["javac", "g++"]) == (
        "sudo apt-get install default-jdk-headless g++"
    )
    check = doctor.check_sandbox_tools()
    assert check.level == "warn" and "javac, g++" in check.detail
    assert check.fix == "sudo apt-get install default-jdk-headless g++"
    monkeypatch.setenv("PATH", planted_path(tmp_path / "all", "bwrap", "javac", "g++"))
    assert doctor.check_sandbox_tools().level == "ok"


def test_the_full_install_command_names_every_package() -> None:
    assert doctor.install_command(doctor.SANDBOX_PACKAGES) == (
        "sudo apt-get install bubblewrap default-jdk-headless g++"
    )


@pytest.mark.parametrize(
    ("gib", "level"), [(1.0, "fail"), (3.0, "warn"), (16.0, "ok")], ids=["low", "tight", "plenty"]
)
def test_memory_thresholds(gib: float, level: str) -> None:
    check = doctor.check_memory(int(gib * GIB))
    assert check.level == level and f"{gib:.1f} GiB available" in check.detail


def test_disk_looks_at_the_nearest_existing_folder(tmp_path: Path) -> None:
    check = doctor.check_disk(tmp_path / "not" / "yet", free=int(0.5 * GIB))
    assert check.level == "fail" and str(tmp_path) in check.detail
    assert doctor.check_disk(tmp_path, free=100 * GIB).level == "ok"
    assert doctor.check_disk(tmp_path).detail.endswith(str(tmp_path))  # a real number


def test_python_version() -> None:
    assert doctor.check_python((3, 11, 7)).level == "ok"
    old = doctor.check_python((3, 10, 2))
    assert old.level == "fail" and old.detail == "Python 3.10.2" and "3.11" in old.fix


def test_memory_reading_is_a_positive_number() -> None:
    assert doctor.available_memory_bytes() > 0


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"ok": True, "version": "0.0.test"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def twincore_like_server() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_port_free_taken_by_twincore_or_by_another_program(twincore_like_server: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        taken = doctor.check_port("127.0.0.1", port)  # bound, and no HTTP answer
    assert taken.level == "fail" and "--port" in taken.fix
    assert doctor.check_port("127.0.0.1", port).level == "ok"  # released
    ours = doctor.check_port("127.0.0.1", twincore_like_server)
    assert ours.level == "warn" and "already running" in ours.detail


def test_database_reachable_or_not(tmp_path: Path) -> None:
    assert doctor.check_database(f"sqlite:///{tmp_path / 'db.sqlite'}").level == "ok"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = doctor.check_database(f"postgresql+psycopg://u:secret@127.0.0.1:{port}/x")
    assert down.level == "fail" and "secret" not in down.detail and "***" in down.detail


def test_graph_embedded_importable_and_neo4j_unreachable(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path)
    assert doctor.check_graph(embedded).level == "ok"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    neo4j = Settings(
        data_dir=tmp_path,
        graph={
            "backend": "neo4j",
            "neo4j_uri": f"bolt://127.0.0.1:{port}",
            "neo4j_password": "a-real-one",
        },
    )
    assert doctor.check_graph(neo4j).level == "fail"


def test_weights_found_unknown_or_remote(tmp_path: Path) -> None:
    found = doctor.check_weights("swift", CoreConfig(model="smollm2-135m-instruct"), tmp_path)
    assert found.level == "ok" and found.detail == "smollm2-135m-instruct"
    unknown = doctor.check_weights("deep", CoreConfig(model="no-such-model"), tmp_path)
    assert unknown.level == "fail" and "no-such-model" in unknown.detail
    remote = CoreConfig(backend="openai", model="m", base_url="http://127.0.0.1:9/v1")
    assert doctor.check_weights("deep", remote, tmp_path).level == "ok"


def test_a_probe_that_breaks_is_reported_as_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> doctor.Check:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "check_ray", broken)
    checks = doctor.run_checks(Settings())
    (ray,) = [c for c in checks if c.name == "broken"]
    assert ray.level == "fail" and "boom" in ray.detail


def doctor_env(tmp_path: Path) -> dict[str, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {
        "TWINCORE_DATA_DIR": str(tmp_path / "var"),
        "TWINCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'twincore.db'}",
        "TWINCORE_GATEWAY__PORT": str(port),
    }


def test_the_command_prints_every_check_and_exits_by_the_worst(tmp_path: Path) -> None:
    runner = CliRunner()
    env = doctor_env(tmp_path)
    result = runner.invoke(build_cli(), ["doctor", "--json"], env=env)
    report = json.loads(result.output)
    names = [c["name"] for c in report["checks"]]
    assert names[:3] == ["python", "ray", "sandbox tools"]
    assert {"memory", "disk", "gateway port", "database", "graph", "weights deep"} <= set(names)
    failed = any(c["level"] == "fail" for c in report["checks"])
    assert report["ok"] is not failed and result.exit_code == (1 if failed else 0)
    text = runner.invoke(build_cli(), ["doctor"], env=env)
    assert text.exit_code == result.exit_code
    assert len([line for line in text.output.splitlines() if line.strip()]) >= len(names)


def test_the_command_exits_1_when_a_check_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "check_python", lambda: doctor.Check("python", "fail", "2.7", "x"))
    result = CliRunner().invoke(build_cli(), ["doctor"], env=doctor_env(tmp_path))
    assert result.exit_code == 1 and "fail python: 2.7" in result.output
