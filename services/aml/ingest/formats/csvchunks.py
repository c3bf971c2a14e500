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
    # Undecodable bytes become U+FFFD: the header then fails to match, reported as such.
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
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
    if len(keep) == 0:
        return CsvBlock(pd.DataFrame(), lines, np.zeros(0, dtype=np.int64))
    if b'"' in data or b"\r" in data:
        # pandas would let a stray quote run on over the next lines and end a row at a bare
        # CR, so its rows would no longer match our line numbers.
        return _parse_lines_apart(data, lines, n_columns)
    # Fields per line = commas per line + 1, counted on the bytes without a Python loop.
    buf = np.frombuffer(data + b"\n", dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    commas = np.flatnonzero(buf == ord(","))
    fields = np.bincount(np.searchsorted(newlines, commas), minlength=len(newlines)) + 1
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


def _parse_lines_apart(data: bytes, lines: np.ndarray, n_columns: int) -> CsvBlock:
    """Each line parsed on its own with the csv module, so a quote never spans lines; a line it
    cannot read counts as having no fields (reported as a wrong field count)."""
    rows: list[list[str]] = []
    for line in data.decode("utf-8", errors="replace").split("\n"):
        try:
            rows.append(next(csv.reader([line]), []))
        except csv.Error:
            rows.append([])
    fields = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    padded = [[value.strip() for value in (row + [""] * n_columns)[:n_columns]] for row in rows]
    return CsvBlock(pd.DataFrame(padded, columns=list(range(n_columns)), dtype=str), lines, fields)
