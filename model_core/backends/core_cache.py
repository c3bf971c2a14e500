"""A core's model and tokenizer, served from a cache of converted weights when one is current.

Loading a default GGUF means dequantizing it, quantizing it again for the engine and rebuilding
its tokenizer from metadata: about a minute for the 1.5B deep core on two CPU cores. The result
is saved once under `<data_dir>/cores/<slug>/` (a `save_quantized` checkpoint and the tokenizer's
files, side by side) and later starts load that in a second or two.

The slug is a readable name plus a short hash of everything that decides the result: the
source's absolute path, the size and mtime (ns) of its files, the quantization mode and the
quantized format version. A changed source therefore gets a new entry rather than a stale one.
Mode "none" is never cached: the float model is what the loader returns, so there is nothing
to save.

Old entries are evicted after every load: at most `keep_per_model` entries per model name, and
with a byte budget the least recently used go until the rest fit; the entry just loaded never
goes. An entry's last use is its folder's mtime, set on every hit. Evicting an entry another
process loaded from is safe: loading copies the weights out and keeps no mapping of the files
(one evicted while another process is reading it only costs that process a rebuild).

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

import torch
from gguf import GGUFReader

from twincore.model_core.gguf_file import GGUFLayout, gguf_layout
from twincore.model_core.loader import load_model
from twincore.model_core.model import Transformer
from twincore.model_core.quant import (
    FORMAT_VERSION,
    QuantMode,
    load_quantized,
    save_quantized,
    weight_bytes,
)
from twincore.model_core.sources import ModelSource, resolve_source
from twincore.model_core.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

CORES_DIR = "cores"
"""Folder under the data dir that holds the cache entries."""
KEEP_PER_MODEL = 2
"""Entries kept per model name (its modes and source versions together)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SLUG = re.compile(r"(?P<name>.+)-(?P<mode>none|int8|int4)-[0-9a-f]{16}")


def load_core_model(
    model: str,
    quantization: QuantMode,
    *,
    data_dir: Path,
    keep_per_model: int = KEEP_PER_MODEL,
    max_bytes: int | None = None,
) -> tuple[Transformer, Tokenizer, bool]:
    """The quantized model and tokenizer for `model`, and whether they came from the cache.

    Afterwards old entries are evicted (see `evict_entries`) down to `keep_per_model` per model
    name and, when given, `max_bytes` in all.
    """
    source = resolve_source(model, data_dir=data_dir)
    if source.path is None:
        raise ValueError(f"{model} is a preset without weights; a core needs real ones")
    if quantization == "none":
        transformer, tokenizer = _convert(source.path, quantization)
        return transformer, tokenizer, False
    entry = data_dir / CORES_DIR / cache_slug(source, quantization)
    cached = _read_entry(entry) if entry.is_dir() else None
    if cached is None:
        logger.info("core cache miss for %s (%s): converting %s", model, quantization, source.path)
        transformer, tokenizer = _convert(source.path, quantization)
        _write_entry(entry, transformer, tokenizer, source=str(source.path))
    else:
        transformer, tokenizer = cached
    if entry.is_dir():
        _mark_used(entry)
        try:
            evict_entries(
                entry.parent, in_use=entry, keep_per_model=keep_per_model, max_bytes=max_bytes
            )
        # Eviction only frees disk: a race with another process (an entry vanishing under
        # iteration) or a permission problem may not stop this core from starting.
        except OSError:
            logger.warning("core cache eviction in %s failed", entry.parent, exc_info=True)
    return transformer, tokenizer, cached is not None


def evict_entries(
    cores: Path, *, in_use: Path, keep_per_model: int = KEEP_PER_MODEL, max_bytes: int | None = None
) -> list[Path]:
    """Remove cache entries, least recently used first, until each model name keeps at most
    `keep_per_model` and all together fit `max_bytes`; never `in_use`. Returns the removed.

    Folders that are not entries (temporary ones of a write in progress, anything foreign) are
    neither counted nor touched.
    """
    entries = [p for p in cores.iterdir() if p.is_dir() and _SLUG.fullmatch(p.name)]
    entries.sort(key=_last_use, reverse=True)  # most recent first
    groups: dict[str, list[Path]] = {}
    for entry in entries:
        groups.setdefault(_model_name(entry), []).append(entry)
    doomed: list[Path] = []
    for group in groups.values():
        kept = [entry for entry in group if entry == in_use]  # counts against the allowance
        for entry in group:
            if entry == in_use:
                continue
            if len(kept) < keep_per_model:
                kept.append(entry)
            else:
                doomed.append(entry)
    if max_bytes is not None:
        survivors = [e for e in entries if e not in doomed]
        total = sum(_size(e) for e in survivors)
        for entry in reversed(survivors):  # least recently used first
            if total <= max_bytes:
                break
            if entry != in_use:
                total -= _size(entry)
                doomed.append(entry)
    for entry in doomed:
        logger.info("core cache: evicting %s (last used %s)", entry, time.ctime(_last_use(entry)))
        shutil.rmtree(entry, ignore_errors=True)
    return doomed


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
    """Load the source as the engine needs it, each projection quantized as it streams in."""
    started = time.perf_counter()
    source: Path | GGUFLayout = path
    if path.suffix == ".gguf":
        reader = GGUFReader(path)  # parsing the metadata takes seconds: once for both
        tokenizer = Tokenizer.from_gguf(reader)
        source = gguf_layout(reader)
        del reader  # ~0.5 GB of parsed metadata (151k tokens): gone before the weights come
    else:
        tokenizer = Tokenizer.from_dir(path)
    transformer = load_model(source, dtype=torch.bfloat16, quantization=quantization)
    logger.info(
        "converted %s to %s in %.1f s, %.1f MB",
        path, quantization, time.perf_counter() - started, weight_bytes(transformer) / 1e6,
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


def _mark_used(entry: Path) -> None:
    try:
        os.utime(entry)
    except OSError:  # a read-only cache still serves; eviction order is only a little off
        logger.debug("could not mark %s as used", entry, exc_info=True)


def _last_use(entry: Path) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:  # removed meanwhile (another process evicted it)
        return 0.0


def _model_name(entry: Path) -> str:
    match = _SLUG.fullmatch(entry.name)
    return match.group("name") if match else entry.name


def _size(entry: Path) -> int:
    return sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())


def _fsync_files(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
