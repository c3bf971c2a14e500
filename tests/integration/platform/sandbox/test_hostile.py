"""Hostile programs in all three languages: each is contained with the right status, nothing on
the host changes, and no process of the sandbox is left behind."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from twincore.platform.sandbox.languages import run_program
from twincore.platform.sandbox.runner import Limits, RunResult

REPO_ROOT = Path(__file__).resolve().parents[4]
MARK = uuid.uuid4().hex[:10]
HOST_TMP_TARGET = Path("/tmp") / f"twincore-hostile-{MARK}"  # must stay absent on the host
REPO_TARGET = REPO_ROOT / f"hostile-{MARK}.txt"
FAST = Limits(wall_s=3.0, cpu_s=2.0, memory_mb=256, processes=16)


class Listener:
    """A TCP server on the host's loopback that records whether anything connected."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()
    assert server.connections == 0, "a sandboxed program reached a host service"


@dataclass(frozen=True)
class Case:
    name: str
    language: str
    source: str
    statuses: frozenset[str]
    limits: Limits = FAST
    reason: str = ""
    """A substring the result's reason (or output) must hold."""
    env: dict[str, str] = field(default_factory=dict)


PY_FORK_BOMB = (
    "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
)
CASES = [
    # --- Python ---
    Case("py-fork-bomb", "python", PY_FORK_BOMB, frozenset({"timeout"})),
    Case(
        "py-infinite-loop",
        "python",
        "while True:\n    pass\n",
        frozenset({"timeout"}),
        limits=Limits(wall_s=20, cpu_s=1),
        reason="CPU",
    ),
    Case(
        "py-sleep", "python", "import time\ntime.sleep(60)\n", frozenset({"timeout"}), reason="wall"
    ),
    Case(
        "py-memory-hog",
        "python",
        "x = []\nwhile True:\n    x.append(bytearray(1 << 24))\n",
        frozenset({"memory"}),
    ),
    Case(
        "py-write-repo",
        "python",
        f"open({str(REPO_TARGET)!r}, 'w').write('x')\n",
        frozenset({"failed"}),
        reason="Permission denied",
    ),
    Case(
        "py-write-host-tmp",
        "python",
        f"open({str(HOST_TMP_TARGET)!r}, 'w').write('x')\nprint('wrote the private /tmp')\n",
        frozenset({"ok"}),
        reason="private /tmp",
    ),
    Case(
        "py-write-usr",
        "python",
        "open('/usr/pwned', 'w').write('x')\n",
        frozenset({"failed"}),
        reason="Read-only file system",
    ),
    Case(
        "py-read-shadow",
        "python",
        "print(open('/etc/shadow').read())\n",
        frozenset({"failed"}),
        reason="No such file",
    ),
    Case(
        "py-socket-outside",
        "python",
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\n",
        frozenset({"failed"}),
        reason="unreachable",
    ),
    Case(
        "py-spawn-sh",
        "python",
        "import subprocess\nsubprocess.run(['/bin/sh', '-c', 'id'])\n",
        frozenset({"failed"}),
        reason="Permission denied",
    ),
    Case(
        "py-os-system",
        "python",
        f"import os\nassert os.system('touch {HOST_TMP_TARGET}') == 0\n",
        frozenset({"failed"}),
    ),
    Case(
        "py-kill-parent",
        "python",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        frozenset({"failed"}),
        reason="PermissionError",
    ),
    Case(
        "py-kill-everything",
        "python",
        "import os, signal\nos.kill(-1, signal.SIGKILL)\n",
        frozenset({"failed"}),
        reason="ProcessLookupError",
    ),  # nothing else it may signal
    Case(
        "py-huge-output",
        "python",
        "while True:\n    print('x' * 10000)\n",
        frozenset({"killed"}),
        reason="output limit",
    ),
    Case(
        "py-deep-recursion",
        "python",
        "def f(n):\n    return f(n + 1)\nf(0)\n",
        frozenset({"failed"}),
        reason="RecursionError",
    ),
    Case(
        "py-file-size",
        "python",
        "open('big', 'wb').write(b'x' * (64 << 20))\n",
        frozenset({"failed"}),
        reason="File too large",
    ),  # Python ignores SIGXFSZ
    Case(
        "cpp-file-size",
        "cpp",
        '#include <cstdio>\nint main() { FILE* f = std::fopen("big", "wb");'
        " for (int i = 0; i < (64 << 20); i++) std::fputc('x', f); }",
        frozenset({"killed"}),
        reason="file size",
    ),
    Case(
        "py-disk-fill",
        "python",
        "import time\nfor i in range(200):\n    open(f'f{i}', 'wb').write(b'x' * (1 << 20))\n"
        "time.sleep(30)\n",
        frozenset({"killed"}),
        limits=Limits(wall_s=10, disk_mb=8),
        reason="disk limit",
    ),
    Case(
        "py-thread-bomb",
        "python",
        "import threading, time\nwhile True:\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n",
        frozenset({"failed"}),
        reason="can't start new thread",
    ),
    Case(
        "py-environment",
        "python",
        "import os\nassert not any('SECRET' in k for k in os.environ), dict(os.environ)\n",
        frozenset({"ok"}),
        env={"TWINCORE_SECRET_KEY": "host secret"},
    ),
    Case(
        "py-orphan-daemon",
        "python",
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " start_new_session=True)\nprint('left a child')\n",
        frozenset({"ok"}),
    ),
    # --- Java ---
    Case(
        "java-infinite-loop",
        "java",
        "public class Main { public static void main(String[] a) { while (true) {} } }",
        frozenset({"timeout"}),
        limits=Limits(wall_s=20, cpu_s=2),
    ),
    Case(
        "java-memory-hog",
        "java",
        "import java.util.*;\npublic class Main { public static void main(String[] a) {"
        " List<long[]> l = new ArrayList<>(); while (true) l.add(new long[1 << 20]); } }",
        frozenset({"memory"}),
        limits=Limits(wall_s=20, cpu_s=10, memory_mb=512),
    ),
    Case(
        "java-runtime-exec",
        "java",
        "public class Main { public static void main(String[] a) throws Exception {"
        ' Runtime.getRuntime().exec(new String[]{"/bin/sh", "-c", "id"}).waitFor(); } }',
        frozenset({"failed"}),
        limits=Limits(wall_s=20),
        reason="Permission denied",
    ),
    Case(
        "java-jni",
        "java",
        'public class Main { public static void main(String[] a) { System.loadLibrary("evil"); } }',
        frozenset({"failed"}),
        limits=Limits(wall_s=20),
        reason="UnsatisfiedLinkError",
    ),
    Case(
        "java-write-repo",
        "java",
        "import java.nio.file.*;\npublic class Main { public static void main(String[] a) throws"
        f' Exception {{ Files.writeString(Path.of("{REPO_TARGET}"), "x"); }} }}',
        frozenset({"failed"}),
        limits=Limits(wall_s=20),
        reason="AccessDeniedException",
    ),
    Case(
        "java-deep-recursion",
        "java",
        "public class Main { static int f(int n) { return f(n + 1) + 1; }"
        " public static void main(String[] a) { f(0); } }",
        frozenset({"failed"}),
        limits=Limits(wall_s=20),
        reason="StackOverflowError",
    ),
    # --- C++ ---
    Case(
        "cpp-fork-bomb",
        "cpp",
        "#include <unistd.h>\nint main() { while (true) fork(); }",
        frozenset({"timeout"}),
    ),
    Case(
        "cpp-system",
        "cpp",
        "#include <cstdlib>\nint main() {"
        f' return std::system("touch {HOST_TMP_TARGET}") == 0 ? 0 : 1; }}',
        frozenset({"failed"}),
    ),
    Case(
        "cpp-memory-hog",
        "cpp",
        "#include <cstddef>\n#include <vector>\n"
        "int main() { std::vector<char> v(std::size_t(4) << 30, 1); return v[7]; }",
        frozenset({"memory"}),
        reason="memory",
    ),
    Case(
        "cpp-deep-recursion",
        "cpp",
        "int f(volatile int n) { volatile char pad[256]; pad[0] = n; return f(n + 1) + pad[0]; }\n"
        "int main() { return f(0); }",
        frozenset({"killed"}),
        reason="SIGSEGV",
    ),
    Case(
        "cpp-read-shadow",
        "cpp",
        '#include <cstdio>\nint main() { return std::fopen("/etc/shadow", "r") ? 0 : 1; }',
        frozenset({"failed"}),
    ),
    Case(
        "cpp-include-shadow",
        "cpp",
        '#include "/etc/shadow"\nint main() {}',
        frozenset({"compile_error"}),
    ),
    Case(
        "cpp-sleep",
        "cpp",
        "#include <unistd.h>\nint main() { sleep(60); }",
        frozenset({"timeout"}),
        reason="wall",
    ),
]


def _sandbox_processes(sandbox_uid: int | None) -> list[int]:
    """Host processes still running as the run's uid (other runs on the machine may be live)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uid = entry.stat().st_uid
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if uid == sandbox_uid and state not in "ZX":  # zombies hold nothing
                found.append(int(entry.name))
    return found


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert {c.language for c in CASES} == {"python", "java", "cpp"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_program_is_contained(
    case: Case, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    result: RunResult = run_program(case.language, case.source, limits=case.limits)  # type: ignore[arg-type]
    seen = f"{result.reason}\n{result.stdout}\n{result.stderr}\n{result.compile_output}"
    assert result.status in case.statuses, seen
    assert case.reason in seen
    assert result.wall_s < case.limits.wall_s + 3.0  # killed at the limit, not later
    assert not HOST_TMP_TARGET.exists()
    assert not REPO_TARGET.exists()
    assert result.uid is not None, "the suite runs as root: each run gets its own uid"
    assert _sandbox_processes(result.uid) == [], "a sandboxed process outlived its run"


def test_socket_to_host_loopback_is_refused(listener: Listener) -> None:
    source = f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), timeout=2)\n"
    result = run_program("python", source, limits=FAST)
    assert result.status == "failed"
    assert "Connection refused" in result.stderr  # the sandbox's own, empty loopback
    java = (
        "public class Main { public static void main(String[] a) throws Exception {"
        f' new java.net.Socket("127.0.0.1", {listener.port}).close(); }} }}'
    )
    assert run_program("java", java, limits=Limits(wall_s=20)).status == "failed"
    assert listener.connections == 0


def test_output_is_truncated_to_what_is_kept() -> None:
    limits = Limits(keep_output_bytes=1000, output_bytes=1 << 20)
    result = run_program("python", "print('y' * 5000)\n", limits=limits)
    assert result.status == "ok"
    assert result.truncated
    assert len(result.stdout) == 1000


def test_host_file_outside_stays_unchanged(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("original")
    tmp_path.chmod(0o777)  # even a world-writable host folder is out of reach
    source = f"open({str(canary)!r}, 'w').write('changed')\n"
    result = run_program("python", source, limits=FAST)
    assert result.status == "failed"
    assert canary.read_text() == "original"
