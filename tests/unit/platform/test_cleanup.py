"""Run records and leftover detection: only a killed run's own processes are stopped, and a
graph settings file that names no daemon is cleared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from twincore.platform.cleanup import (
    RunRecord,
    clean_killed_runs,
    run_records,
    session_processes,
    stop_processes,
    write_run_record,
)
from twincore.platform.graph.factory import embedded_graph_path
from twincore.platform.graph.falkordb_daemon import clear_stale_settings, settings_file
from twincore.platform.settings import Settings

SLEEP = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def sleeper(procs: list[subprocess.Popen[bytes]], *args: str) -> subprocess.Popen[bytes]:
    """A process that ignores SIGTERM (as Ray's agents do) with `args` on its command line."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEP, *args], stdout=subprocess.PIPE)
    procs.append(proc)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def gone(pid: int) -> bool:
    try:
        status: str = psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return True
    return status == "zombie"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_run_record_round_trip_and_liveness(tmp_path: Path) -> None:
    record = write_run_record(tmp_path, "/tmp/ray/session_x")
    assert run_records(tmp_path) == [record]
    assert record.pid == os.getpid() and record.alive()
    # The same pid started at another time is a reused pid, not this run.
    assert not RunRecord(record.path, record.pid, record.started - 60, "s").alive()
    assert not RunRecord(record.path, dead_pid(), record.started, "s").alive()


def test_unreadable_run_record_is_removed(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    broken = tmp_path / "run" / "ray-1.json"
    broken.write_text('{"pid": 1')  # cut short by a kill mid-write
    assert run_records(tmp_path) == []
    assert not broken.exists()


def test_session_processes_match_the_whole_session_name(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    session = str(tmp_path / "session_2026_1328")
    ours = sleeper(spawned, f"--session-dir={session}")
    sleeper(spawned, f"--session-dir={session}9")  # another run's session
    logs = Path(session) / "logs"
    logs.mkdir(parents=True)
    # Retitled like `ray::DashboardAgent`: only its open log file names the session.
    holder = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(logs / 'agent.log')!r}, 'w'); {SLEEP}"],
        stdout=subprocess.DEVNULL,
    )
    spawned.append(holder)
    expected = {ours.pid, holder.pid}
    for _ in range(100):  # until the holder has started and opened its log
        found = {p.pid for p in session_processes(session)}
        if found == expected:
            break
        time.sleep(0.05)
    assert found == expected


def test_stop_processes_kills_what_ignores_sigterm(spawned: list[subprocess.Popen[bytes]]) -> None:
    proc = sleeper(spawned)
    target = psutil.Process(proc.pid)
    stop_processes([target], grace_s=0.5)
    assert gone(proc.pid)


def test_killed_run_is_cleaned_live_run_is_not(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    killed_session = str(tmp_path / "session_killed")
    leftover = sleeper(spawned, f"--session-dir={killed_session}")
    killed = tmp_path / "run" / "ray-1.json"
    live = write_run_record(tmp_path, str(tmp_path / "session_live"))
    live_worker = sleeper(spawned, f"--session-dir={live.session_dir}")
    killed.write_text(
        json.dumps({"pid": dead_pid(), "started": 0.0, "session_dir": killed_session})
    )

    cleaned = clean_killed_runs(tmp_path)

    assert len(cleaned) == 1 and killed_session in cleaned[0], cleaned
    assert gone(leftover.pid)  # it ignored SIGTERM: killed
    assert live_worker.poll() is None
    assert run_records(tmp_path) == [live]


def test_settings_file_naming_no_daemon_is_cleared(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    assert clear_stale_settings(db) is None
    settings_file(db).write_text("{")  # cut short by a kill
    assert clear_stale_settings(db) is not None
    assert not settings_file(db).exists()

    private = tmp_path / "tmpredis"
    private.mkdir()
    (private / "redis.pid").write_text(str(os.getpid()))  # a live pid that is not redis
    body = {"pidfile": str(private / "redis.pid"), "unixsocket": str(private / "redis.socket")}
    settings_file(db).write_text(json.dumps(body))
    message = clear_stale_settings(db)
    assert message is not None and str(os.getpid()) in message
    assert not settings_file(db).exists()


def test_embedded_graph_path(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert embedded_graph_path(settings) == tmp_path.resolve() / "graph.db"
    neo4j = Settings.model_validate(
        {"data_dir": tmp_path, "graph": {"backend": "neo4j", "neo4j_uri": "bolt://x:7687"}}
    )
    assert embedded_graph_path(neo4j) is None
