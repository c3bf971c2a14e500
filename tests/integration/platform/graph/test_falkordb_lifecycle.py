"""The embedded FalkorDB daemon: stopped on close, re-attached after its owner is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from twincore.platform.graph.falkordb_store import FalkorDBStore

HOLDER = """
import sys, time
from pathlib import Path
from twincore.platform.graph.falkordb_store import FalkorDBStore
s = FalkorDBStore(Path(sys.argv[1]))
s.query("CREATE (:Marker {v: 7})", read_only=False)
print(s.server_pid, flush=True)
time.sleep(120)
"""


def _servers_for(db: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "cwd"]):
        try:
            if "redis-server" in (proc.info["name"] or "") and str(db.parent) in " ".join(
                [*(proc.info["cmdline"] or []), proc.info["cwd"] or ""]
            ):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_close_leaves_no_server(tmp_path: Path) -> None:
    store = FalkorDBStore(tmp_path / "g.db")
    pid = store.server_pid
    assert pid is not None and psutil.pid_exists(pid)
    store.close()
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_reattaches_to_daemon_of_killed_process(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    orphan_pid = int(holder.stdout.readline())
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert psutil.pid_exists(orphan_pid)  # the daemon outlived its owner

    store = FalkorDBStore(db)
    try:
        assert store.server_pid == orphan_pid  # re-attached, no second server
        assert store.query("MATCH (m:Marker) RETURN m.v AS v") == [{"v": 7}]
    finally:
        store.close()
    deadline = time.monotonic() + 5
    while psutil.pid_exists(orphan_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(orphan_pid)
