"""A core's model and tokenizer, served from a cache of converted weights when one is current.

Loading a default GGUF means dequantizing it, quantizing it again for the engine and rebuilding
its tokenizer from metadata: about a minute for the 1.5B deep core on two CPU cores. The result
is saved once under `<data_dir>/cores/<slug>/` (a `save_quantized` checkpoint and the tokenizer's
files, side by side) and later starts load that in a second or two.

The slug is a readable name plus a short hash of everything that decides the result: the
source's absolute path, the size and mtime (ns) of its files, the quantization mode and the
quantized format version. A changed source therefore gets a new entry rather than a stale one;
old entries are left for the operator to delete. Mode "none" is never cached: the float model
is what the loader returns, so there is nothing to save.

Entries are written into a temporary folder beside the target and renamed into place, so a
reader sees a whole entry or none; when two processes race, the first rename wins and the other
keeps using what it built. An entry that fails to load is logged, removed and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from gguf import GGUFReader

from twincore.model_core.loader import load_model
from twincore.model_core.model import Transformer
from twincore.model_core.quant import (
    FORMAT_VERSION,
    QuantMode,
    load_quantized,
    quantize_model,
    save_quantized,
)
from twincore.model_core.sources import ModelSource, resolve_source
from twincore.model_core.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

CORES_DIR = "cores"
"""Folder under the data dir that holds the cache entries."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def load_core_model(
    model: str, quantization: QuantMode, *, data_dir: Path
) -> tuple[Transformer, Tokenizer, bool]:
    """The quantized model and tokenizer for `model`, and whether they came from the cache."""
    source = resolve_source(model, data_dir=data_dir)
    if source.path is None:
        raise ValueError(f"{model} is a preset without weights; a core needs real ones")
    if quantization == "none":
        transformer, tokenizer = _convert(source.path, quantization)
        return transformer, tokenizer, False
    entry = data_dir / CORES_DIR / cache_slug(source, quantization)
    if entry.is_dir():
        cached = _read_entry(entry)
        if cached is not None:
            return *cached, True
    logger.info("core cache miss for %s (%s): converting %s", model, quantization, source.path)
    transformer, tokenizer = _convert(source.path, quantization)
    _write_entry(entry, transformer, tokenizer, source=str(source.path))
    return transformer, tokenizer, False


def cache_slug(source: ModelSource, quantization: QuantMode) -> str:
    """Entry name: readable model name, mode, and a hash of what decides the converted weights."""
    if source.path is None:
        raise ValueError(f"{source.name} has no files to cache")
    path = source.path.resolve()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = json.dumps([str(path), stats, quantization, FORMAT_VERSION])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    readable = source.name if source.kind == "default" else path.stem
    return f"{_UNSAFE.sub('-', readable) or 'model'}-{quantization}-{digest}"


def _convert(path: Path, quantization: QuantMode) -> tuple[Transformer, Tokenizer]:
    """Load the source as the engine needs it: float weights, then quantized in place."""
    started = time.perf_counter()
    if path.suffix == ".gguf":
        reader = GGUFReader(path)  # parsing the metadata takes seconds: once for both
        transformer, tokenizer = load_model(reader), Tokenizer.from_gguf(reader)
    else:
        transformer, tokenizer = load_model(path), Tokenizer.from_dir(path)
    loaded = time.perf_counter()
    report = quantize_model(transformer, quantization)
    logger.info(
        "converted %s to %s in %.1f s (load %.1f s, quantize %.1f s), %.1f -> %.1f MB",
        path, quantization, time.perf_counter() - started, loaded - started,
        time.perf_counter() - loaded, report.bytes_before / 1e6, report.bytes_after / 1e6,
    )  # fmt: skip
    return transformer, tokenizer


def _read_entry(entry: Path) -> tuple[Transformer, Tokenizer] | None:
    """The cached model and tokenizer, or None (entry removed) when the entry cannot be read."""
    started = time.perf_counter()
    try:
        transformer = load_quantized(entry)
        tokenizer = Tokenizer.from_dir(entry)
    # A damaged entry fails in many ways (safetensors, json, torch, a missing key); any of them
    # only costs a rebuild, so none may stop the core from starting.
    except Exception:
        logger.warning("core cache entry %s is unreadable; rebuilding it", entry, exc_info=True)
        shutil.rmtree(entry, ignore_errors=True)
        return None
    logger.info("core cache hit: %s in %.2f s", entry, time.perf_counter() - started)
    return transformer, tokenizer


def _write_entry(entry: Path, transformer: Transformer, tokenizer: Tokenizer, source: str) -> None:
    """Save atomically beside `entry`; a failure is logged, the model in memory still serves."""
    started = time.perf_counter()
    tmp: Path | None = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}.", suffix=".tmp"))
        tmp.chmod(0o755)  # mkdtemp makes it private; the converted weights are not secret
        save_quantized(transformer, tmp, source=source)
        tokenizer.save(tmp)
        _fsync_files(tmp)  # durable before the rename: never a whole-looking, half-written entry
        tmp.rename(entry)
    # Caching only saves time on the next start: no failure here (disk full, permissions, a
    # safetensors error) may stop this one.
    except Exception:
        if tmp is not None and entry.is_dir():
            logger.info("core cache entry %s was written by another process; keeping it", entry)
        else:
            logger.warning("could not write core cache entry %s", entry, exc_info=True)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    logger.info("core cache saved %s in %.1f s", entry, time.perf_counter() - started)


def _fsync_files(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
