"""What the sandbox supervisor reads from /proc: a sandbox's processes, their memory, leftovers.

A sandbox's processes are the ones in its PID namespace (bwrap's first child is the namespace's
reaper); reading `/proc/<pid>/ns/pid` of other users' processes needs root, which is how the
supervisor runs in CI; an unprivileged supervisor sees its own processes, which are all a
user-namespace sandbox has.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

_PROC = Path("/proc")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


def first_child(pid: int) -> int | None:
    """The first child of `pid` (bwrap's namespace reaper), None when it has none (yet)."""
    try:
        children = (_PROC / str(pid) / "task" / str(pid) / "children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def child_namespace(pid: int) -> str | None:
    """The PID namespace of bwrap's child, e.g. `pid:[4026532601]`; None before it exists."""
    child = first_child(pid)
    if child is None:
        return None
    try:
        namespace = str((_PROC / str(child) / "ns" / "pid").readlink())
        own = str((_PROC / "self" / "ns" / "pid").readlink())
    except OSError:
        return None
    return namespace if namespace != own else None  # not yet unshared: look again later


def namespace_pids(namespace: str) -> Iterator[int]:
    """Every process (host pid) in the PID namespace `namespace`."""
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if str((entry / "ns" / "pid").readlink()) == namespace:
                yield int(entry.name)


def namespace_usage(namespace: str) -> tuple[int, float]:
    """Resident bytes and CPU seconds (user + system) of every process in the namespace."""
    rss, ticks = 0, 0
    for pid in namespace_pids(namespace):
        with contextlib.suppress(OSError, ValueError, IndexError):
            rss += int((_PROC / str(pid) / "statm").read_text().split()[1]) * _PAGE
            stat = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(stat[11]) + int(stat[12])  # utime, stime (fields 14, 15)
    return rss, ticks / _TICKS


def kill_namespace(namespace: str) -> int:
    """SIGKILL every process left in the namespace; how many there were."""
    killed = 0
    for pid in namespace_pids(namespace):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def uid_pids(uid: int) -> Iterator[int]:
    """Every process running as `uid` (a sandbox's fresh uid when the supervisor is root)."""
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    yield int(entry.name)


def wait_gone(namespace: str | None, uid: int | None, timeout_s: float = 15.0) -> bool:
    """Kill what is left of a sandbox (its namespace, its uid) and wait until it is gone."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = set(namespace_pids(namespace)) if namespace else set()
        if uid is not None:
            left |= set(uid_pids(uid))
        # bwrap's reaper ends as a zombie of the host's init: no memory, no CPU, nothing to kill.
        left = {pid for pid in left if not _zombie(pid)}
        if not left:
            return True
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def _zombie(pid: int) -> bool:
    try:
        return (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (OSError, IndexError):
        return True  # gone already


def tree_size(root: Path) -> int:
    """Bytes of the regular files under `root` (the work directory is small and shallow)."""
    total = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
    return total


def own_process_count() -> int:
    """Processes and threads of this uid (an unprivileged sandbox shares its process limit)."""
    uid = os.getuid()
    count = 0
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += sum(1 for _ in (entry / "task").iterdir())
    return count
