"""The sandbox: runs untrusted programs in an isolated, resource-limited process tree.

Security note: every program runs under bubblewrap (`bwrap`, Debian package `bubblewrap`) in
its own PID, network, IPC and UTS namespaces, with a read-only view of `/usr` (and of the
interpreter the project runs on), a private writable work directory (`/sandbox`, a fresh host
temporary folder), a small private `/tmp` tmpfs and nothing else of the host file system: no
`/etc/shadow`, no repository, no home. The network namespace holds only its own loopback, so
neither host services on 127.0.0.1 nor outside addresses are reachable. Shells are masked
(`/usr/bin/sh` and friends are bound to `/dev/null`), so `system()`, `os.system` and
`Runtime.exec("sh")` fail. When the supervisor runs as root, the program runs as a fresh
unprivileged uid for each run (no capabilities, `no_new_privs`), which is what makes the
per-uid process limit real; unprivileged callers get a user namespace instead (the process
limit then counts the caller's own processes too). POSIX limits (CPU time, address space or
data segment, processes, file size, core dumps) are set by `prlimit` inside the sandbox; the
supervisor adds a wall clock, a memory watchdog over the whole tree (RSS of every process in
the sandbox's PID namespace), a disk-use cap on the work directory and an output cap, and on
any limit it kills the tree: SIGKILL to bwrap's reaper ends the namespace and every process in
it. bubblewrap was chosen over a container runtime because it is one small setuid-free binary
from Debian, needs no daemon, and starts in milliseconds (a HumanEval check costs ~50 ms).
It is not a VM: a kernel exploit would escape it. Run code you do not trust on a machine where
that risk is acceptable, or inside a container/VM as well.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from twincore.platform.errors import Unavailable
from twincore.platform.sandbox import procs

logger = logging.getLogger(__name__)

Status = Literal["ok", "failed", "timeout", "memory", "killed", "compile_error"]

WORKDIR = "/sandbox"
BWRAP = "bwrap"
SHELLS = ("sh", "dash", "bash", "rbash", "zsh", "ksh", "csh", "tcsh", "busybox")
_UID_RANGE = (200_000, 1_200_000)
_POLL_S = 0.02
_WATCHDOG_EVERY = 5  # memory and disk are checked every 5th poll (0.1 s)
_MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "java.lang.OutOfMemoryError")


@dataclass(frozen=True)
class Limits:
    """What one program may use; every limit kills the whole process tree when reached."""

    wall_s: float = 10.0
    cpu_s: float = 10.0
    memory_mb: int = 1024
    """Address space (Python, C++) or data segment (JVM) per process, and RSS of the tree."""
    processes: int = 32
    """Processes and threads of the sandbox's uid (the JVM counts its threads here)."""
    file_size_mb: int = 16
    disk_mb: int = 64
    """Total size of the work directory."""
    output_bytes: int = 1 << 20
    """stdout + stderr beyond this kill the program."""
    keep_output_bytes: int = 16 << 10
    """How much of each stream the result keeps."""
    memory_rlimit: Literal["as", "data"] = "as"
    """RLIMIT_AS breaks the JVM (it reserves a large address space), so Java limits data."""
    rlimit_headroom_mb: int = 0
    """Added to the per-process rlimit only (the JVM's thread stacks and metaspace count as
    data); the tree's RSS is still held to `memory_mb` by the watchdog."""


@dataclass(frozen=True)
class RunResult:
    """How a program ended: a status, its exit code, the kept output and what it cost."""

    status: Status
    exit_code: int | None
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    reason: str = ""
    """Why the status (the limit hit, the signal), empty for a clean exit."""
    truncated: bool = False
    compile_output: str = ""
    compile_s: float = 0.0
    uid: int | None = None
    """The fresh uid the program ran as (root supervisors only), to audit what it left."""

    @property
    def passed(self) -> bool:
        return self.status == "ok"

    def log(self, max_chars: int = 4000) -> str:
        """A readable log of the run for people and for repair prompts."""
        parts = [f"status: {self.status}" + (f" ({self.reason})" if self.reason else "")]
        if self.compile_output:
            parts.append("compiler output:\n" + self.compile_output.strip())
        if self.stdout.strip():
            parts.append("stdout:\n" + self.stdout.strip())
        if self.stderr.strip():
            parts.append("stderr:\n" + self.stderr.strip())
        text = "\n".join(parts)
        return (
            text
            if len(text) <= max_chars
            else text[: max_chars // 2] + "\n...\n" + text[-max_chars // 2 :]
        )


class SandboxUnavailableError(Unavailable, RuntimeError):
    """bubblewrap, or the compiler a language needs, is missing on this machine (a 503 to an
    API caller; still a RuntimeError to code that catches those)."""


@dataclass(frozen=True)
class Sandbox:
    """Runs commands in a fresh work directory; `ro_paths` are visible read-only inside."""

    ro_paths: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    temp_root: Path | None = None

    def run(
        self,
        command: Sequence[str],
        *,
        files: Mapping[str, str | bytes] | None = None,
        stdin: bytes | None = None,
        limits: Limits | None = None,
        workdir: Path | None = None,
    ) -> RunResult:
        """Run `command` with `files` written into a new work directory (or in `workdir`, a
        directory an earlier call of `session()` made, so a compile step's output stays)."""
        if workdir is not None:
            _write_files(workdir, files or {})
            return self._supervise(command, workdir, stdin, limits or Limits())
        with self.session() as work:
            _write_files(work, files or {})
            return self._supervise(command, work, stdin, limits or Limits())

    def session(self) -> _WorkSession:
        """A work directory kept over several runs (compile, then run), removed at exit."""
        return _WorkSession(self.temp_root)

    def _supervise(
        self, command: Sequence[str], work: Path, stdin: bytes | None, limits: Limits
    ) -> RunResult:
        uid = _fresh_uid() if os.geteuid() == 0 else None
        if uid is not None:
            _chown_tree(work, uid)
        argv = self._argv(command, work, limits, uid)
        started = time.monotonic()
        try:
            process = subprocess.Popen(  # noqa: S603 - bwrap with our own argument list, no shell
                argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env={"PATH": os.environ.get("PATH", os.defpath)},
            )
        except FileNotFoundError as error:
            raise SandboxUnavailableError(
                "bubblewrap (bwrap) is not installed: sudo apt-get install bubblewrap"
            ) from error
        result = _Watch(process, limits, work, started, uid).wait(stdin)
        logger.debug(
            "sandbox %s: %s %s in %.2fs", command[0], result.status, result.reason, result.wall_s
        )
        return result

    def _argv(
        self, command: Sequence[str], work: Path, limits: Limits, uid: int | None
    ) -> list[str]:
        argv = [BWRAP, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        argv += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if uid is None:
            argv += ["--unshare-user"]
        else:  # setpriv inside needs these two to become the fresh uid, then drops everything
            argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        argv += ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
            path = Path(top)
            if path.is_symlink():
                argv += ["--symlink", str(path.readlink()), top]
            elif path.is_dir():
                argv += ["--ro-bind", top, top]
        # The private /tmp goes first: an interpreter or venv that lives under the host's /tmp
        # (a CI clone) is then bound on top of it instead of being hidden by it.
        argv += ["--proc", "/proc", "--dev", "/dev"]
        argv += ["--perms", "1777", "--size", str(limits.disk_mb << 20)]
        argv += ["--tmpfs", "/tmp"]  # noqa: S108 - the sandbox's own, empty
        made: set[str] = {"/", "/usr", "/tmp"}  # noqa: S108 - made just above
        for ro in self.ro_paths:
            if Path(ro).exists() and not ro.startswith("/usr/"):
                argv += _parents(ro, made)
                argv += ["--ro-bind", ro, ro]
        for shell in SHELLS:
            if Path("/usr/bin", shell).exists():
                argv += ["--ro-bind", "/dev/null", f"/usr/bin/{shell}"]
        argv += ["--bind", str(work), WORKDIR, "--chdir", WORKDIR, "--clearenv"]
        environment = {"PATH": "/usr/bin", "HOME": WORKDIR, "TMPDIR": "/tmp", "LANG": "C.UTF-8"}  # noqa: S108
        for key, value in {**environment, **self.env}.items():
            argv += ["--setenv", key, value]
        argv.append("--")
        if uid is not None:
            argv += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            argv += ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
        argv += _prlimit(limits, uid)
        argv += list(command)
        return argv


class _WorkSession:
    def __init__(self, root: Path | None) -> None:
        self._root = root

    def __enter__(self) -> Path:
        if self._root is not None:
            self._root.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="twincore-sandbox-", dir=self._root))
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class _Watch:
    """Waits for a sandboxed process while enforcing wall time, memory, disk and output."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        limits: Limits,
        work: Path,
        started: float,
        uid: int | None,
    ) -> None:
        self.process, self.limits, self.work, self.started = process, limits, work, started
        self.uid = uid
        self.kill_reason: tuple[Status, str] | None = None
        self.output_total = 0
        self.lock = threading.Lock()
        self.kept: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self.truncated = False
        self.cpu_seen = 0.0

    def wait(self, stdin: bytes | None) -> RunResult:
        readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr))
        ]
        for reader in readers:
            reader.start()
        if stdin is not None:
            threading.Thread(target=self._feed, args=(stdin,), daemon=True).start()
        namespace: str | None = None
        polls = 0
        status_word, rusage = None, None
        while status_word is None:
            pid, status_word_now, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                status_word, rusage = status_word_now, usage
                break
            elapsed = time.monotonic() - self.started
            if elapsed > self.limits.wall_s:
                self._kill("timeout", f"wall time limit {self.limits.wall_s:g}s")
            polls += 1
            if polls % _WATCHDOG_EVERY == 0 or polls == 1:
                namespace = namespace or procs.child_namespace(self.process.pid)
                self._watchdog(namespace)
            time.sleep(_POLL_S)
        self.process.returncode = _exit_code(status_word)
        wall = time.monotonic() - self.started
        # The namespace dies with bwrap's reaper, but its processes may still be exiting.
        if not procs.wait_gone(namespace, self.uid):
            logger.warning("sandbox processes outlived their run (namespace %s)", namespace)
        for reader in readers:
            reader.join(timeout=2.0)
        # bwrap's reaper does not hand its children's CPU time up, so the tree's CPU time is
        # the watchdog's last sample (a program shorter than one sample shows ~0).
        cpu = max(self.cpu_seen, rusage.ru_utime + rusage.ru_stime if rusage else 0.0)
        return self._result(status_word, wall, cpu)

    def _watchdog(self, namespace: str | None) -> None:
        if namespace is not None:
            rss, cpu = procs.namespace_usage(namespace)
            self.cpu_seen = max(self.cpu_seen, cpu)
            if rss > self.limits.memory_mb << 20:
                self._kill("memory", f"memory limit {self.limits.memory_mb} MB (RSS of the tree)")
        if procs.tree_size(self.work) > self.limits.disk_mb << 20:
            self._kill("killed", f"disk limit {self.limits.disk_mb} MB in the work directory")

    def _read(self, name: str, stream: object) -> None:
        assert stream is not None
        read = stream.read1  # type: ignore[attr-defined]
        while chunk := read(65536):
            with self.lock:
                self.output_total += len(chunk)
                kept = self.kept[name]
                room = self.limits.keep_output_bytes - len(kept)
                if room > 0:
                    kept += chunk[:room]
                if len(chunk) > room:
                    self.truncated = True
                over = self.output_total > self.limits.output_bytes
            if over:
                self._kill("killed", f"output limit {self.limits.output_bytes} bytes")

    def _feed(self, data: bytes) -> None:
        stream = self.process.stdin
        assert stream is not None
        try:
            stream.write(data)
            stream.close()
        except (BrokenPipeError, OSError):
            pass  # the program ended or closed stdin before reading it all

    def _kill(self, status: Status, reason: str) -> None:
        with self.lock:
            if self.kill_reason is None:
                self.kill_reason = (status, reason)
        reaper = procs.first_child(self.process.pid)
        for pid in (reaper, self.process.pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _result(self, status_word: int, wall: float, cpu: float) -> RunResult:
        stdout = self.kept["stdout"].decode("utf-8", errors="replace")
        stderr = self.kept["stderr"].decode("utf-8", errors="replace")
        code = _exit_code(status_word)
        result = RunResult("ok", code, stdout, stderr, round(wall, 4), round(cpu, 4))
        result = replace(result, truncated=self.truncated, uid=self.uid)
        if self.kill_reason is not None:
            status, reason = self.kill_reason
            return replace(result, status=status, reason=reason, exit_code=None)
        status, reason = _classify(code, stderr, self.limits)
        return replace(result, status=status, reason=reason)


def _classify(code: int, stderr: str, limits: Limits) -> tuple[Status, str]:
    """Status and reason from bwrap's exit code (128 + n when the program died of signal n)."""
    if code == 0:
        return "ok", ""
    memory = any(marker in stderr for marker in _MEMORY_MARKERS)
    if code > 128 and code - 128 < signal.NSIG:
        number = code - 128
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        if number == signal.SIGXCPU:
            return "timeout", f"CPU time limit {limits.cpu_s:g}s"
        if number == signal.SIGXFSZ:
            return "killed", f"file size limit {limits.file_size_mb} MB"
        if memory:
            return "memory", f"out of memory, then {name}"
        return "killed", f"signal {name}"
    if memory:
        return "memory", f"memory limit {limits.memory_mb} MB"
    return "failed", f"exit code {code}"


def _exit_code(status_word: int) -> int:
    if os.WIFSIGNALED(status_word):
        return 128 + os.WTERMSIG(status_word)
    return os.WEXITSTATUS(status_word)


def _prlimit(limits: Limits, uid: int | None) -> list[str]:
    memory = (limits.memory_mb + limits.rlimit_headroom_mb) << 20
    processes = (
        limits.processes if uid is not None else procs.own_process_count() + limits.processes
    )
    cpu = max(int(limits.cpu_s), 1)
    return [
        "/usr/bin/prlimit",
        f"--cpu={cpu}:{cpu + 1}",
        f"--{limits.memory_rlimit}={memory}",
        f"--nproc={processes}",
        f"--fsize={limits.file_size_mb << 20}",
        "--core=0",
        "--",
    ]


def _parents(path: str, made: set[str]) -> list[str]:
    """`--dir` for each missing ancestor of `path`, world-readable so the program's uid can
    walk to the bound path (bwrap makes them 0700 otherwise)."""
    argv: list[str] = []
    for parent in reversed(Path(path).parents):
        key = str(parent)
        if key in made:
            continue
        made.add(key)
        argv += ["--perms", "0755", "--dir", key]
    return argv


def _fresh_uid() -> int:
    return _UID_RANGE[0] + secrets.randbelow(_UID_RANGE[1] - _UID_RANGE[0])


def _chown_tree(root: Path, uid: int) -> None:
    """Hand the work directory to the run's uid (never following a link out of it)."""
    os.chown(root, uid, uid)
    for folder, dirs, files in os.walk(root):  # os.walk does not descend into linked folders
        for name in (*dirs, *files):
            os.chown(Path(folder, name), uid, uid, follow_symlinks=False)


def _write_files(work: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        target = (work / name).resolve()
        if not target.is_relative_to(work.resolve()):
            raise ValueError(f"file name {name!r} leaves the work directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
