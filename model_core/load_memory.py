"""Peak resident memory of starting a core: once converting its weights, once from the cache.

Each start runs in a fresh Python process, so the number is what a service pays: interpreter,
torch, tokenizer and weights, with nothing left over from the caller. The first start gets an
empty cache folder of its own (the caller's assembled GGUFs are linked into it, so nothing is
assembled again); the second start reads the entry the first one wrote. The child reports its
own high-water mark (VmHWM of /proc/self/status), which counts file pages it has mapped as well
as its own memory. Not `ru_maxrss`: Linux carries it across fork and exec, so a child started
by a large process (the benchmark) would report its parent's peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
"""Folder under a data dir that holds assembled default GGUFs (see model_core.weights)."""
_CHILD = """
import json, sys
from pathlib import Path
from twincore.model_core.backends.core_cache import load_core_model

model, quantization, data_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
_, _, from_cache = load_core_model(model, quantization, data_dir=data_dir)
status = Path("/proc/self/status").read_text()
peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": peak_kb / 2**10, "from_cache": from_cache}))
"""


def measure_load_rss(
    model: str, quantization: str, *, data_dir: Path, timeout_s: float = 1800.0
) -> dict[str, float]:
    """{"first_load_peak_rss_mb", "load_peak_rss_mb"} of `model` in `quantization`, in MiB.

    `data_dir` is only read: its assembled GGUFs are linked into a temporary data dir, where
    the cache entry is written and removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="twincore-load-rss-") as scratch:
        scratch_dir = Path(scratch)
        _link_models(data_dir / MODELS_DIR, scratch_dir / MODELS_DIR)
        first = _start_child(model, quantization, scratch_dir, timeout_s)
        cached = _start_child(model, quantization, scratch_dir, timeout_s)
    if first["from_cache"] or not cached["from_cache"]:
        raise RuntimeError(
            f"{model} ({quantization}): expected a conversion then a cache hit, got "
            f"from_cache={first['from_cache']} then {cached['from_cache']}"
        )
    result = {
        "first_load_peak_rss_mb": float(first["peak_rss_mb"]),
        "load_peak_rss_mb": float(cached["peak_rss_mb"]),
    }
    logger.info("load peak RSS of %s (%s): %s", model, quantization, result)
    return result


def trim_heap() -> None:
    """Hand memory freed inside malloc's heap back to the OS (glibc's malloc_trim; elsewhere a
    no-op).

    Loaders call it after each tensor. glibc serves allocations below its mmap threshold from
    the heap, and after a large block is freed it raises that threshold (up to 32 MB), so the
    per-tensor float temporaries of a conversion land in the heap between long-lived weights
    and their pages stay resident once freed: measured on the 0.5B model, 1.9 GB RSS after
    converting a 0.77 GB int8 model, 1.1 GB with a trim after each tensor.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim: Callable[[int], int] | None = getattr(ctypes.CDLL(name), "malloc_trim", None)
    return trim


def _link_models(source: Path, target: Path) -> None:
    """Symlink every file of `source` (GGUFs and their verification records) into `target`;
    the records vouch by size and mtime, which a symlink shows unchanged."""
    target.mkdir(parents=True)
    if source.is_dir():
        for path in source.iterdir():
            if path.is_file():
                (target / path.name).symlink_to(path.resolve())


def _start_child(
    model: str, quantization: str, data_dir: Path, timeout_s: float
) -> dict[str, float | bool]:
    done = subprocess.run(  # noqa: S603 (this interpreter, our own script and arguments)
        [sys.executable, "-c", _CHILD, model, quantization, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"loading {model} ({quantization}) in a child process failed with exit code "
            f"{done.returncode}: {done.stderr[-2000:]}"
        )
    report: dict[str, float | bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return report
