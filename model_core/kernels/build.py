"""Compiles the weight-only CPU kernels (weight_only.cpp) with g++ into a cached shared library.

The library lands in `<cache>/<key>/twincore_kernels.so`, where the cache is
$TWINCORE_KERNEL_CACHE or ~/.cache/twincore/kernels and the key hashes what decides the binary:
the source, the compiler version, the torch version, the flags and this CPU's ISA flags. A file
lock makes concurrent first uses (several cores, test workers) build it once.

`python -m twincore.model_core.kernels.build` builds it ahead of time (from `make install`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from filelock import FileLock
from torch.utils import cpp_extension

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("weight_only.cpp")
LIBRARY_NAME = "twincore_kernels.so"
REQUIRED_CPU_FLAGS = ("avx512f", "avx512bw", "avx512_vnni")
"""The kernels use 512-bit vpdpbusd; other CPUs keep PyTorch's aten kernels."""
CXX_FLAGS = ("-O3", "-march=native", "-std=c++20", "-fPIC", "-shared", "-fopenmp")
"""-fopenmp: at::parallel_for is OpenMP inline code, which without it runs on one thread; the
library then links torch's own libgomp (same soname, one thread pool, torch's thread count)."""


class KernelBuildError(RuntimeError):
    """The kernels cannot be built here (no compiler, unsupported CPU, or a compile error)."""


def cache_root() -> Path:
    override = os.environ.get("TWINCORE_KERNEL_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "twincore" / "kernels"


def cpu_flags() -> frozenset[str]:
    """ISA flags of this CPU from /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def compiler() -> str | None:
    return shutil.which(os.environ.get("CXX", "g++"))


def unsupported_reason() -> str | None:
    """Why the kernels cannot be built on this machine, or None when they can be tried."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return f"the kernels are x86-64 only (this is {platform.machine()})"
    missing = [flag for flag in REQUIRED_CPU_FLAGS if flag not in cpu_flags()]
    if missing:
        return f"this CPU lacks {', '.join(missing)}"
    if compiler() is None:
        return "no g++ found (install g++ to build the twincore CPU kernels)"
    return None


def library_path() -> Path:
    """Where the library for this source, compiler, torch and CPU lives (built or not)."""
    cxx = compiler() or "g++"
    version = subprocess.run(  # noqa: S603 (the configured compiler, fixed arguments)
        [cxx, "--version"], capture_output=True, text=True, check=False
    ).stdout
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), version.encode(), torch.__version__.encode()):
        key.update(part)
    key.update(" ".join(CXX_FLAGS).encode())
    key.update(" ".join(sorted(cpu_flags())).encode())
    return cache_root() / key.hexdigest()[:16] / LIBRARY_NAME


def build() -> Path:
    """The path of the built library, compiling it first when missing; KernelBuildError if not."""
    reason = unsupported_reason()
    if reason is not None:
        raise KernelBuildError(reason)
    target = library_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / ".lock")):
        if not target.exists():  # another process may have built it while we waited
            _compile(target)
    return target


def _compile(target: Path) -> None:
    includes = [f"-I{path}" for path in cpp_extension.include_paths()]
    libraries = cpp_extension.library_paths()
    links = [f"-L{path}" for path in libraries] + [f"-Wl,-rpath,{path}" for path in libraries]
    abi = f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}"
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".so", delete=False) as tmp:
        partial = Path(tmp.name)
    command = [
        compiler() or "g++", *CXX_FLAGS, abi, *includes, str(SOURCE), "-o", str(partial),
        *links, "-lc10", "-ltorch_cpu", "-ltorch",
    ]  # fmt: skip
    logger.info("building the twincore CPU kernels into %s", target.parent)
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise KernelBuildError(f"g++ failed ({result.returncode}): {result.stderr[-2000:]}")
    partial.replace(target)  # atomic: a reader never sees a half-written library


def main() -> int:
    """Build ahead of time; a machine that cannot build them is told so in one line, exit 0."""
    reason = unsupported_reason()
    if reason is not None:
        sys.stdout.write(f"twincore CPU kernels not built: {reason}; using PyTorch's kernels\n")
        return 0
    try:
        path = build()
    except KernelBuildError as exc:
        sys.stderr.write(f"twincore CPU kernels failed to build: {exc}\n")
        return 1
    sys.stdout.write(f"twincore CPU kernels: {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
