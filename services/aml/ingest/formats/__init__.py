"""Reading AML datasets from files: AMLSim folders, AMLworld CSVs and the canonical CSV.

`read_dataset(path, name=..., fmt="auto")` detects the format, parses in blocks (progress through
a callback), validates every line and returns a `Dataset`, or raises one `IngestError` listing
the bad lines; nothing is kept from a rejected file. A path may be a CSV file, a folder, or a
.tgz/.tar.gz/.zip archive of either.
"""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

from twincore.services.aml.ingest.formats.amlsim import is_amlsim_dir, read_amlsim
from twincore.services.aml.ingest.formats.amlworld import AMLWORLD_HEADER, read_amlworld
from twincore.services.aml.ingest.formats.canonical import CANONICAL_COLUMNS, read_canonical
from twincore.services.aml.ingest.formats.csvchunks import Progress, read_header
from twincore.services.aml.ingest.formats.issues import IngestError, Issue
from twincore.services.aml.ingest.frames import Dataset, SourceFormat

__all__ = ["FormatChoice", "IngestError", "Issue", "detect_format", "read_dataset"]

FormatChoice = Literal["auto", "amlsim", "amlworld", "canonical"]
TRANSACTIONS_FILE = "transactions.csv"
ACCOUNTS_FILE = "accounts.csv"
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".zip")


def detect_format(path: Path) -> SourceFormat:
    """The format of a file or folder, judged by its files and header line."""
    if is_amlsim_dir(path):
        return "amlsim"
    csv_path = _transactions_path(path)
    header = read_header(csv_path)
    if header == list(AMLWORLD_HEADER):
        return "amlworld"
    if set(CANONICAL_COLUMNS) <= set(header):
        return "canonical"
    raise IngestError(
        [
            Issue(
                csv_path.name,
                1,
                "unknown format: expected an AMLSim folder (nodes.csv + transactions.csv), the "
                f"AMLworld header {list(AMLWORLD_HEADER)} or the canonical columns "
                f"{list(CANONICAL_COLUMNS)}; found {header or 'no header'}",
            )
        ]
    )


def read_dataset(
    path: Path,
    *,
    name: str,
    fmt: FormatChoice = "auto",
    progress: Progress | None = None,
) -> Dataset:
    """Parse, validate and return the dataset at `path` (file, folder or archive)."""
    if not path.exists():
        raise IngestError([Issue(path.name, 0, "no such file or folder")])
    if path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES):
        with tempfile.TemporaryDirectory(prefix="twincore-aml-") as tmp:
            root = _extract(path, Path(tmp))
            return read_dataset(root, name=name, fmt=fmt, progress=progress)
    chosen: SourceFormat = detect_format(path) if fmt == "auto" else fmt
    if chosen == "amlsim":
        if not is_amlsim_dir(path):
            raise IngestError(
                [Issue(path.name, 0, "AMLSim needs a folder with nodes.csv and transactions.csv")]
            )
        return read_amlsim(path, name=name, progress=progress)
    csv_path = _transactions_path(path)
    if chosen == "amlworld":
        return read_amlworld(csv_path, name=name, progress=progress)
    accounts = path / ACCOUNTS_FILE if path.is_dir() and (path / ACCOUNTS_FILE).is_file() else None
    return read_canonical(csv_path, name=name, accounts_path=accounts, progress=progress)


def _transactions_path(path: Path) -> Path:
    if path.is_file():
        return path
    if (path / TRANSACTIONS_FILE).is_file():
        return path / TRANSACTIONS_FILE
    raise IngestError([Issue(path.name, 0, f"folder holds no {TRANSACTIONS_FILE}")])


def _extract(archive: Path, into: Path) -> Path:
    """Extract safely (no paths outside `into`); return the folder holding the data: the one
    top-level folder when the archive has exactly one, else `into` itself."""
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    target = (into / member).resolve()
                    if not target.is_relative_to(into.resolve()):
                        raise IngestError([Issue(archive.name, 0, f"unsafe path {member!r}")])
                zipped.extractall(into)  # noqa: S202  (every member checked above)
        else:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise IngestError([Issue(archive.name, 0, f"cannot read the archive: {exc}")]) from exc
    entries = [p for p in into.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    if len(entries) == 1 and entries[0].is_file():
        return entries[0]
    return into
