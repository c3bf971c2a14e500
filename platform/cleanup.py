"""What a local Twincore run leaves behind, found and stopped: its Ray session, its graph daemon.

Each local cluster the launcher starts writes a run record, `<data_dir>/run/ray-<pid>.json`:
the launcher's pid, that process's start time (so a reused pid is not taken for it) and Ray's
session directory. A record whose process is gone marks a run that was killed (SIGKILL, OOM):
the processes still holding its session directory are that run's, and nobody else's Ray is
touched. The embedded graph's redis-server is stopped when no live run of the data dir is left
and no client is connected to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from twincore.platform.graph.factory import embedded_graph_path
from twincore.platform.graph.falkordb_daemon import (
    client_count,
    find_daemons,
    settings_file,
    stop_daemon,
)
from twincore.platform.settings import Settings

log = logging.getLogger(__name__)

RUN_DIR = "run"
# Ray's agents ignore SIGTERM for a while; after this they get SIGKILL.
TERM_GRACE_S = 3.0
# After Ray shuts down, the support replica's connection to the graph daemon drops as its
# process exits; wait this long for it before calling the daemon busy.
REPLICA_EXIT_S = 10.0


def clean_before_start(settings: Settings, apps: Iterable[Settings]) -> list[str]:
    """Before a local cluster starts: stop what killed runs of this data dir left (their Ray
    processes; the graph daemons of `apps` when no run is live and no client uses them).
    Each line cleaned is logged as a warning and returned."""
    cleaned = clean_killed_runs(settings.data_dir)
    if not live_runs(settings.data_dir):
        for db in _graph_files(apps):
            cleaned += stop_idle_graph_daemons(db)
    for line in cleaned:
        log.warning("cleaned up after an earlier run: %s", line)
    return cleaned


def clean_after_stop(record: RunRecord, apps: Iterable[Settings]) -> list[str]:
    """After this run's Ray shut down: stop the graph daemons its replicas started, unless
    another live run of the data dir shares them; then drop the run record."""
    cleaned: list[str] = []
    if not live_runs(record.path.parent.parent, besides=record):
        for db in _graph_files(apps):
            cleaned += stop_idle_graph_daemons(db, wait_idle_s=REPLICA_EXIT_S)
    record.path.unlink(missing_ok=True)
    for line in cleaned:
        log.info("shutdown: %s", line)
    return cleaned


def _graph_files(apps: Iterable[Settings]) -> list[Path]:
    return sorted({p for p in (embedded_graph_path(app) for app in apps) if p is not None})


@dataclass(frozen=True)
class RunRecord:
    """One local cluster started by the launcher for a data dir."""

    path: Path
    pid: int
    started: float  # psutil create_time of the launcher process
    session_dir: str

    def alive(self) -> bool:
        try:
            started: float = psutil.Process(self.pid).create_time()
        except psutil.NoSuchProcess:
            return False
        return abs(started - self.started) < 1.0


def write_run_record(data_dir: Path, session_dir: str) -> RunRecord:
    """Record this process as the owner of Ray session `session_dir`."""
    folder = Path(data_dir).resolve() / RUN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    record = RunRecord(
        folder / f"ray-{pid}.json", pid, psutil.Process(pid).create_time(), session_dir
    )
    body = {"pid": pid, "started": record.started, "session_dir": session_dir}
    record.path.write_text(json.dumps(body))
    return record


def run_records(data_dir: Path) -> list[RunRecord]:
    records = []
    for path in sorted((Path(data_dir).resolve() / RUN_DIR).glob("ray-*.json")):
        try:
            body = json.loads(path.read_text())
            records.append(
                RunRecord(path, int(body["pid"]), float(body["started"]), body["session_dir"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("removing unreadable run record %s", path)
            path.unlink(missing_ok=True)
    return records


def session_processes(session_dir: str) -> list[psutil.Process]:
    """This user's processes of one Ray session: named in their command line, or holding one of
    its files open (Ray's agents retitle themselves `ray::DashboardAgent` and keep their logs
    under the session dir open)."""
    found = []
    prefix = session_dir.rstrip("/") + "/"
    # The whole name: session_..._1328 must not match session_..._13289.
    named = re.compile(re.escape(session_dir.rstrip("/")) + r"(?![\w.-])")
    for proc in psutil.process_iter(["uids", "cmdline"]):
        try:
            if proc.pid == os.getpid() or proc.info["uids"].real != os.getuid():
                continue
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            if named.search(cmdline) or any(f.path.startswith(prefix) for f in proc.open_files()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def stop_processes(procs: Iterable[psutil.Process], *, grace_s: float = TERM_GRACE_S) -> None:
    """SIGTERM, then SIGKILL what is still running after `grace_s`."""
    procs = list(procs)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=2.0)


def clean_killed_runs(data_dir: Path) -> list[str]:
    """Stop the Ray processes of runs of `data_dir` whose launcher is gone; forget them.
    Returns one line per run cleaned."""
    cleaned = []
    for record in run_records(data_dir):
        if record.alive():
            continue
        leftovers = session_processes(record.session_dir)
        stop_processes(leftovers)
        record.path.unlink(missing_ok=True)
        cleaned.append(
            f"stopped {len(leftovers)} leftover Ray process(es) of a run that was killed "
            f"(pid {record.pid}, session {record.session_dir})"
        )
    return cleaned


def live_runs(data_dir: Path, *, besides: RunRecord | None = None) -> list[RunRecord]:
    return [
        r
        for r in run_records(data_dir)
        if r.alive() and (besides is None or r.path != besides.path)
    ]


def stop_idle_graph_daemons(db: Path, *, wait_idle_s: float = 0.0) -> list[str]:
    """Stop the daemons of `db` once no client is connected (waiting up to `wait_idle_s` for
    the clients of processes that are exiting to drop); a daemon still in use is left."""
    cleaned = []
    for daemon in find_daemons(db):
        deadline = time.monotonic() + wait_idle_s
        clients = client_count(daemon)
        while clients and time.monotonic() < deadline:
            time.sleep(0.2)
            clients = client_count(daemon)
        if clients:
            log.info(
                "graph daemon %d of %s has %d client(s): left running", daemon.pid, db, clients
            )
            continue
        stop_daemon(daemon)
        registry = settings_file(db)
        if registry.exists() and str(daemon.socket) in registry.read_text():
            registry.unlink()
        cleaned.append(f"stopped graph daemon {daemon.pid} of {db} (data saved)")
    return cleaned
