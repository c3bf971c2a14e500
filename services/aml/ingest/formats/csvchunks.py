"""Streaming CSV reading in blocks of lines, with exact line numbers and per-line field counts.

pandas' C parser does the heavy lifting; we split the file into blocks of whole lines ourselves so
every row keeps its line number (for error messages) and so a row with too many or too few fields
is reported rather than silently padded or fatal. Blank lines are skipped (they still count for
line numbers). Quoted fields may hold commas but not newlines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

Progress = Callable[[int, int], None]
"""progress(bytes_done, bytes_total), called after each block."""

BLOCK_BYTES = 16 << 20


@dataclass
class CsvBlock:
    """Rows of one block: every column as str, the line number and field count of each row."""

    frame: pd.DataFrame
    lines: np.ndarray
    fields: np.ndarray


def read_header(path: Path) -> list[str]:
    """The header fields of a CSV file (BOM and spaces removed); [] for an empty file."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    if not first.strip():
        return []
    return [name.strip() for name in next(csv.reader([first]))]


def iter_blocks(
    path: Path, n_columns: int, *, progress: Progress | None = None, block_bytes: int = BLOCK_BYTES
) -> Iterator[CsvBlock]:
    """Yield the data rows after the header, block by block. Each frame has exactly `n_columns`
    columns named 0..n_columns-1 (missing fields are empty strings); `fields` tells the truth."""
    total = path.stat().st_size
    with path.open("rb") as handle:
        handle.readline()  # the header, read by read_header
        next_line = 2
        while True:
            raw = handle.readlines(block_bytes)
            if not raw:
                break
            block = _parse_block(raw, next_line, n_columns)
            next_line += len(raw)
            if progress is not None:
                progress(handle.tell(), total)
            if len(block.lines):
                yield block


def _parse_block(raw: list[bytes], first_line: int, n_columns: int) -> CsvBlock:
    stripped = [line.rstrip(b"\r\n") for line in raw]
    lengths = np.fromiter((len(line) for line in stripped), dtype=np.int64, count=len(stripped))
    keep = np.flatnonzero(lengths > 0)
    lines = first_line + keep
    data = b"\n".join(stripped[i] for i in keep)
    if b'"' in data:
        text = data.decode("utf-8", errors="replace").split("\n")
        fields = np.fromiter((len(row) for row in csv.reader(text)), dtype=np.int64)
    else:
        # Fields per line = commas per line + 1, counted on the bytes without a Python loop.
        buf = np.frombuffer(data + b"\n", dtype=np.uint8)
        newlines = np.flatnonzero(buf == ord("\n"))
        commas = np.flatnonzero(buf == ord(","))
        fields = np.bincount(np.searchsorted(newlines, commas), minlength=len(newlines)) + 1
    if len(keep) == 0:
        return CsvBlock(pd.DataFrame(), lines, fields)
    width = max(int(fields.max()), n_columns)
    frame = pd.read_csv(
        io.BytesIO(data),
        header=None,
        names=list(range(width)),
        index_col=False,
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=False,
        engine="c",
        encoding="utf-8",
        encoding_errors="replace",
    )
    frame = frame.iloc[:, :n_columns]
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    return CsvBlock(frame, lines, fields)
