"""Checks shared by the format parsers: headers by name, field counts per row."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.ingest.formats.csvchunks import CsvBlock, read_header
from twincore.services.aml.ingest.formats.issues import IngestError, Issue, IssueCollector


def header_positions(
    path: Path, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[dict[str, int], int]:
    """Map each required (and present optional) column to its position; reject the file when the
    header lacks a required column or repeats one. Returns (positions, number of columns)."""
    if not path.is_file():
        raise IngestError([Issue(path.name, 0, "file not found")])
    header = read_header(path)
    if not header:
        raise IngestError([Issue(path.name, 1, "empty file: no header line")])
    problems: list[Issue] = []
    for name in {n for n in header if header.count(n) > 1} & {*required, *optional}:
        problems.append(Issue(path.name, 1, f"column {name!r} appears more than once"))
    missing = [name for name in required if name not in header]
    if missing:
        problems.append(Issue(path.name, 1, f"header lacks column(s) {missing}; it has {header}"))
    if problems:
        raise IngestError(problems)
    wanted = [*required, *(name for name in optional if name in header)]
    return {name: header.index(name) for name in wanted}, len(header)


def check_exact_header(path: Path, expected: Sequence[str]) -> None:
    """Reject the file unless its header is exactly `expected` (names in order)."""
    if not path.is_file():
        raise IngestError([Issue(path.name, 0, "file not found")])
    header = read_header(path)
    if header != list(expected):
        raise IngestError(
            [Issue(path.name, 1, f"header must be {list(expected)}; found {header or 'nothing'}")]
        )


def check_field_counts(block: CsvBlock, n_columns: int, issues: IssueCollector) -> np.ndarray:
    """Flag rows whose field count differs from the header's; returns the mask of good rows."""
    wrong: np.ndarray = block.fields != n_columns
    issues.add_rows(
        block.lines, wrong, f"expected {n_columns} fields, found", block.fields.astype(str)
    )
    good: np.ndarray = ~wrong
    return good


def check_nonempty(
    block: CsvBlock, column: int, name: str, good: np.ndarray, issues: IssueCollector
) -> None:
    """Flag rows (with the right field count) whose `column` is empty."""
    issues.add_rows(block.lines, good & (block.frame[column] == "").to_numpy(), f"{name} is empty")


def factorize_accounts(
    banks: list[np.ndarray], accounts: list[np.ndarray]
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Dense account keys for parallel lists of (bank, account) arrays, numbered in order of
    first appearance. Returns (keys per input array, bank per key, account per key)."""
    all_banks = np.concatenate(banks) if banks else np.array([], dtype=object)
    all_accounts = np.concatenate(accounts) if accounts else np.array([], dtype=object)
    # Factorise the two parts apart and combine the codes as ints: far cheaper than joining
    # millions of strings.
    bank_codes, bank_values = pd.factorize(all_banks)
    account_codes, account_values = pd.factorize(all_accounts)
    width = max(len(account_values), 1)
    combined = bank_codes.astype(np.int64) * width + account_codes
    keys, unique_pairs = pd.factorize(combined)
    bank_of_key = np.asarray(bank_values, dtype=object)[unique_pairs // width]
    account_of_key = np.asarray(account_values, dtype=object)[unique_pairs % width]
    out: list[np.ndarray] = []
    start = 0
    for part in banks:
        out.append(keys[start : start + len(part)].astype(np.int64))
        start += len(part)
    return out, bank_of_key, account_of_key


def concat(parts: list[np.ndarray], dtype: type = object) -> np.ndarray:
    """Concatenate per-block arrays (an empty array of `dtype` for no blocks)."""
    return np.concatenate(parts) if parts else np.array([], dtype=dtype)


def concat_labels(parts: list[pd.arrays.IntegerArray]) -> pd.arrays.IntegerArray:
    """Concatenate per-block nullable labels."""
    if not parts:
        return pd.array([], dtype="Int8")
    return pd.concat([pd.Series(p) for p in parts], ignore_index=True).array
