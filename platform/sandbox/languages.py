"""Compiling and running one program in the sandbox: Python, Java and C++.

Python runs on the project's own interpreter in isolated mode (`-I`: no environment variables,
no user site, no script folder on the path), so the packages of the project's environment
(SymPy for the tutor) are importable; Java is compiled with `javac` and run with `java` (JDK on
the machine); C++ with `g++ -O2 -std=c++17`. Compilers run in the sandbox too: a compiler fed
hostile input (a template bomb) is as dangerous as the program.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Literal

from twincore.platform.sandbox.runner import Limits, RunResult, Sandbox, SandboxUnavailableError

Language = Literal["python", "java", "cpp"]
LANGUAGES: tuple[Language, ...] = ("python", "java", "cpp")

COMPILE_LIMITS = Limits(wall_s=60.0, cpu_s=60.0, memory_mb=1536, processes=64, disk_mb=128)
# The JVM needs ~20 threads before main() runs, each counted as a process.
_JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Xshare:auto")
JVM_HEADROOM_MB = 512
_PUBLIC_CLASS = re.compile(r"^\s*public\s+(?:final\s+)?class\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Toolchain:
    """Where the interpreter and compilers are (resolved once; bound read-only inside)."""

    python: str
    python_roots: tuple[str, ...]
    java_home: str | None
    gxx: str | None

    def ro_paths(self) -> tuple[str, ...]:
        paths = list(self.python_roots)
        if self.java_home is not None:
            paths.append(self.java_home)
            # Debian links the JDK's conf/ and security files into /etc/java-<version>-openjdk.
            paths += [str(p) for p in Path("/etc").glob("java-*-openjdk")]
        paths += [p for p in ("/etc/ld.so.cache", "/etc/alternatives") if Path(p).exists()]
        return tuple(paths)


@cache
def toolchain() -> Toolchain:
    """The machine's toolchain: this interpreter, the JDK behind `javac`, `g++`."""
    roots = {str(Path(sys.prefix).resolve()), str(Path(sys.base_prefix).resolve())}
    javac = shutil.which("javac")
    java_home = str(Path(javac).resolve().parents[1]) if javac else None
    gxx = shutil.which("g++")
    return Toolchain(sys.executable, tuple(sorted(roots)), java_home, gxx)


def default_sandbox(temp_root: Path | None = None) -> Sandbox:
    return Sandbox(ro_paths=toolchain().ro_paths(), temp_root=temp_root)


def java_main_class(source: str) -> str:
    """The class a Java file must be named after (its public class), `Main` without one."""
    match = _PUBLIC_CLASS.search(source)
    return match.group(1) if match else "Main"


def run_program(
    language: Language,
    source: str,
    *,
    stdin: bytes | None = None,
    files: Mapping[str, str | bytes] | None = None,
    limits: Limits | None = None,
    sandbox: Sandbox | None = None,
) -> RunResult:
    """Compile (Java, C++) and run `source` in a fresh sandbox; `files` go beside it."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")
    box = sandbox or default_sandbox()
    limits = limits or Limits()
    tools = toolchain()
    with box.session() as work:
        if language == "python":
            sources = {**(files or {}), "main.py": source}
            return box.run(
                [tools.python, "-I", "main.py"],
                files=sources,
                stdin=stdin,
                limits=limits,
                workdir=work,
            )
        if language == "java":
            if tools.java_home is None:
                raise SandboxUnavailableError("no JDK on this machine: javac is not on PATH")
            main = java_main_class(source)
            java_limits = replace(
                limits,
                memory_rlimit="data",
                rlimit_headroom_mb=JVM_HEADROOM_MB,
                processes=max(limits.processes, 64),
            )
            heap = f"-Xmx{max(limits.memory_mb // 2, 64)}m"
            compile_argv = [
                f"{tools.java_home}/bin/javac",
                "-encoding",
                "UTF-8",
                "-nowarn",
                *(f"-J{flag}" for flag in _JVM_FLAGS),
                "-J-Xmx512m",
                "-d",
                ".",
                f"{main}.java",
            ]
            compile_limits = replace(
                COMPILE_LIMITS, memory_rlimit="data", rlimit_headroom_mb=JVM_HEADROOM_MB
            )
            run_argv = [
                f"{tools.java_home}/bin/java",
                *_JVM_FLAGS,
                heap,
                "-Xss4m",
                "-XX:MaxMetaspaceSize=128m",
                "-cp",
                ".",
                main,
            ]
            return _compile_then_run(
                box,
                work,
                {**(files or {}), f"{main}.java": source},
                compile_argv,
                compile_limits,
                run_argv,
                java_limits,
                stdin,
            )
        if tools.gxx is None:
            raise SandboxUnavailableError("no C++ compiler on this machine: g++ is not on PATH")
        compile_argv = [tools.gxx, "-O2", "-std=c++17", "-o", "main", "main.cpp"]
        return _compile_then_run(
            box,
            work,
            {**(files or {}), "main.cpp": source},
            compile_argv,
            COMPILE_LIMITS,
            ["./main"],
            limits,
            stdin,
        )


def _compile_then_run(
    box: Sandbox,
    work: Path,
    sources: Mapping[str, str | bytes],
    compile_argv: list[str],
    compile_limits: Limits,
    run_argv: list[str],
    run_limits: Limits,
    stdin: bytes | None,
) -> RunResult:
    compiled = box.run(compile_argv, files=sources, limits=compile_limits, workdir=work)
    log = (compiled.stdout + compiled.stderr).strip()
    if not compiled.passed:
        reason = compiled.reason if compiled.status != "failed" else "the compiler failed"
        return replace(
            compiled,
            status="compile_error",
            reason=reason,
            compile_output=log,
            stdout="",
            stderr="",
            compile_s=compiled.wall_s,
        )
    ran = box.run(run_argv, stdin=stdin, limits=run_limits, workdir=work)
    return replace(ran, compile_output=log, compile_s=compiled.wall_s)
