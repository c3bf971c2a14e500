"""A killed run's leftovers (Ray processes, the graph's redis-server) are stopped by the next
start, and a clean stop leaves no graph daemon behind, with the graph data kept."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from twincore.platform.cleanup import RunRecord, clean_before_start, run_records
from twincore.platform.graph.falkordb_daemon import settings_file
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.settings import Settings

# Holds the graph open like the support replica does, then waits to be killed.
HOLDER = """
import sys, time
from pathlib import Path
from twincore.platform.graph.falkordb_store import FalkorDBStore
s = FalkorDBStore(Path(sys.argv[1]))
s.query("CREATE (:Marker {v: 7})", read_only=False)
print(s.server_pid, flush=True)
time.sleep(120)
"""

# A local run as `twincore up` makes one: ray_cluster, a replica-like actor holding the graph.
RUN = """
import sys, time
import ray
from twincore.platform.launcher import ray_cluster
from twincore.platform.settings import Settings

@ray.remote
class Holder:
    def open(self, db):
        from pathlib import Path
        from twincore.platform.graph.falkordb_store import FalkorDBStore
        self.store = FalkorDBStore(Path(db))
        self.store.query("CREATE (:Marker {v: 7})", read_only=False)
        return self.store.server_pid

settings = Settings(data_dir=sys.argv[1])
with ray_cluster(settings):
    holder = Holder.remote()
    print(ray.get(holder.open.remote(str(settings.graph.path))), flush=True)
    time.sleep(300)
"""


def graph_servers(db: Path) -> list[int]:
    """redis-servers running in the db's folder, counted independently of the code under test."""
    pids = []
    for proc in psutil.process_iter(["name"]):
        try:
            serves_db = proc.info["name"] == "redis-server" and Path(proc.cwd()) == db.parent
            if serves_db and proc.status() != psutil.STATUS_ZOMBIE:
                pids.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return pids


def start_and_kill(script: str, arg: Path) -> int:
    """Run `script` until it prints the graph daemon's pid, then SIGKILL it."""
    proc = subprocess.Popen([sys.executable, "-c", script, str(arg)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        daemon = int(proc.stdout.readline())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return daemon


def markers(db: Path) -> list[int]:
    store = FalkorDBStore(db)
    try:
        return sorted(r["v"] for r in store.query("MATCH (m:Marker) RETURN m.v AS v"))
    finally:
        store.close()


def test_start_stops_orphaned_graph_daemon_and_keeps_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path)
    db = settings.graph.path
    assert db is not None
    orphan = start_and_kill(HOLDER, db)
    assert graph_servers(db) == [orphan]  # the daemon outlived its killed owner

    with caplog.at_level(logging.WARNING):
        cleaned = clean_before_start(settings, [settings])

    assert graph_servers(db) == []
    assert any(str(orphan) in line for line in cleaned), cleaned
    assert str(orphan) in caplog.text
    assert not settings_file(db).exists()
    assert markers(db) == [7]  # saved on the way down, loaded by a fresh daemon
    assert graph_servers(db) == []


def test_store_starts_over_a_daemon_whose_socket_is_gone(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    orphan = start_and_kill(HOLDER, db)
    socket = Path(json.loads(settings_file(db).read_text())["unixsocket"])
    socket.unlink()  # what a /tmp cleaner does to a daemon left running for days

    assert markers(db) == [7]
    assert orphan not in graph_servers(db)


def test_store_starts_when_settings_name_a_pid_that_is_not_redis(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    orphan = start_and_kill(HOLDER, db)
    pidfile = Path(json.loads(settings_file(db).read_text())["pidfile"])
    os.kill(orphan, signal.SIGTERM)  # saves, exits, leaves its settings file
    psutil.wait_procs([psutil.Process(orphan)], timeout=10)
    pidfile.parent.mkdir(exist_ok=True)
    pidfile.write_text(str(os.getpid()))  # the pid reused by an unrelated process

    assert markers(db) == [7]
    assert graph_servers(db) == []


def test_killed_run_is_cleaned_on_start_and_clean_stop_leaves_no_daemon(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from twincore.platform.launcher import ray_cluster

    settings = Settings(data_dir=tmp_path)
    db = settings.graph.path
    assert db is not None
    orphan = start_and_kill(RUN, tmp_path)
    [killed] = run_records(tmp_path)
    assert graph_servers(db) == [orphan]

    with caplog.at_level(logging.WARNING), ray_cluster(settings):
        assert graph_servers(db) == []
        [ours] = run_records(tmp_path)
        assert ours.pid == os.getpid() and ours.session_dir != killed.session_dir
        import ray

        @ray.remote
        def add_marker(path: str) -> list[int]:
            store = FalkorDBStore(Path(path))
            store.query("CREATE (:Marker {v: 8})", read_only=False)
            rows = store.query("MATCH (m:Marker) RETURN m.v AS v")
            return sorted(r["v"] for r in rows)

        assert ray.get(add_marker.remote(str(db))) == [7, 8]

    assert killed.session_dir in caplog.text and str(orphan) in caplog.text
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if in_session(p, killed)]
    assert leftovers == []
    assert run_records(tmp_path) == []
    assert graph_servers(db) == []  # the task's daemon stopped after Ray
    assert markers(db) == [7, 8]


def in_session(proc: psutil.Process, run: RunRecord) -> bool:
    """Whether `proc` belongs to the Ray session of `run` (its command line or open files)."""
    session_dir = run.session_dir
    try:
        return session_dir in " ".join(proc.info["cmdline"] or []) or any(
            f.path.startswith(session_dir) for f in proc.open_files()
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
