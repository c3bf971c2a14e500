"""Twincore's canonical CSV: one transaction per row, named columns, ISO 8601 times.

`transactions.csv`: transaction_id,timestamp,from_bank,from_account,to_bank,to_account,amount,
currency,payment_format[,is_laundering] (column order free, extra columns ignored; timestamp ISO
8601, a time without offset is UTC; is_laundering 0/1, blank = unknown). Optional `accounts.csv`:
bank,account[,is_laundering] — lists accounts (also ones without transactions) and labels them;
its labels win over labels derived from transactions. See services/aml/README.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.ingest.formats.common import (
    check_field_counts,
    check_nonempty,
    concat,
    concat_labels,
    factorize_accounts,
    header_positions,
)
from twincore.services.aml.ingest.formats.csvchunks import Progress, iter_blocks
from twincore.services.aml.ingest.formats.fields import parse_float, parse_label, parse_timestamp
from twincore.services.aml.ingest.formats.issues import IssueCollector, raise_if_any
from twincore.services.aml.ingest.frames import (
    Dataset,
    LabelLevel,
    accounts_frame,
    derive_account_labels,
    transactions_frame,
)

CANONICAL_COLUMNS = (
    "transaction_id",
    "timestamp",
    "from_bank",
    "from_account",
    "to_bank",
    "to_account",
    "amount",
    "currency",
    "payment_format",
)
LABEL_COLUMN = "is_laundering"
ACCOUNT_COLUMNS = ("bank", "account")
TEXT_COLUMNS = ("transaction_id", "from_bank", "from_account", "to_bank", "to_account")


def read_canonical(
    path: Path,
    *,
    name: str,
    accounts_path: Path | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Parse and validate a canonical transactions CSV (and its accounts.csv when given)."""
    known = _read_accounts(accounts_path) if accounts_path is not None else None
    issues = IssueCollector(path.name)
    pos, width = header_positions(path, CANONICAL_COLUMNS, (LABEL_COLUMN,))
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (*TEXT_COLUMNS, "ts", "amount", "lines")}
    cols.update(currency=[], payment_format=[])
    labels: list[pd.arrays.IntegerArray] = []
    for block in iter_blocks(path, width, progress=progress):
        good = check_field_counts(block, width, issues)
        frame, lines = block.frame, block.lines
        for column in (*TEXT_COLUMNS, "currency", "payment_format"):
            check_nonempty(block, pos[column], column, good, issues)
        ts, bad = parse_timestamp(frame[pos["timestamp"]], fmt="ISO8601")
        issues.add_rows(lines, bad & good, "timestamp is not ISO 8601", frame[pos["timestamp"]])
        amount, bad = parse_float(frame[pos["amount"]])
        issues.add_rows(lines, bad & good, "amount is not a number", frame[pos["amount"]])
        issues.add_rows(lines, ~bad & good & (amount < 0), "amount is negative", amount)
        if LABEL_COLUMN in pos:
            label, bad = parse_label(frame[pos[LABEL_COLUMN]], allow_blank=True)
            issues.add_rows(
                lines, bad & good, "is_laundering must be 0, 1 or blank", frame[pos[LABEL_COLUMN]]
            )
        else:
            label = pd.array([pd.NA] * len(frame), dtype="Int8")
        cols["transaction_id"].append(frame[pos["transaction_id"]].to_numpy(dtype=object))
        cols["lines"].append(lines)
        if issues:
            continue  # rejected: keep checking ids and fields, stop keeping the payload
        for column in TEXT_COLUMNS[1:]:
            cols[column].append(frame[pos[column]].to_numpy(dtype=object))
        cols["currency"].append(frame[pos["currency"]].to_numpy(dtype=object))
        cols["payment_format"].append(frame[pos["payment_format"]].to_numpy(dtype=object))
        cols["ts"].append(ts)
        cols["amount"].append(amount)
        labels.append(label)
    ids = concat(cols["transaction_id"])
    if len(ids) == 0:
        issues.add(0, "no transactions")
    duplicated = pd.Series(ids).duplicated().to_numpy() & (ids != "")
    issues.add_rows(
        concat(cols["lines"], np.int64), duplicated, "transaction_id appears more than once", ids
    )
    raise_if_any(issues)
    banks = [concat(cols["from_bank"]), concat(cols["to_bank"])]
    accounts = [concat(cols["from_account"]), concat(cols["to_account"])]
    if known is not None:
        banks.append(known[0])
        accounts.append(known[1])
    keys, bank, account = factorize_accounts(banks, accounts)
    transactions = transactions_frame(
        ts=concat(cols["ts"], np.int64),
        src=keys[0],
        dst=keys[1],
        amount=concat(cols["amount"], np.float64),
        currency=concat(cols["currency"]),
        payment_format=concat(cols["payment_format"]),
        label=concat_labels(labels),
    )
    frame = derive_account_labels(accounts_frame(bank, account, None), transactions)
    has_txn_labels = bool(transactions["label"].notna().any())
    has_account_labels = known is not None and bool(pd.Series(known[2]).notna().any())
    if known is not None:
        listed = pd.Series(known[2])
        given = listed.notna().to_numpy()
        frame.loc[keys[2][given], "label"] = listed[given].to_numpy()
    level: LabelLevel | None = (
        "transaction" if has_txn_labels else "account" if has_account_labels else None
    )
    return Dataset(name, "canonical", frame, transactions, level)


def _read_accounts(path: Path) -> tuple[np.ndarray, np.ndarray, pd.arrays.IntegerArray]:
    issues = IssueCollector(path.name)
    pos, width = header_positions(path, ACCOUNT_COLUMNS, (LABEL_COLUMN,))
    banks: list[np.ndarray] = []
    accounts: list[np.ndarray] = []
    labels: list[pd.arrays.IntegerArray] = []
    lines: list[np.ndarray] = []
    for block in iter_blocks(path, width):
        good = check_field_counts(block, width, issues)
        for column in ACCOUNT_COLUMNS:
            check_nonempty(block, pos[column], column, good, issues)
        if LABEL_COLUMN in pos:
            label, bad = parse_label(block.frame[pos[LABEL_COLUMN]], allow_blank=True)
            issues.add_rows(
                block.lines,
                bad & good,
                "is_laundering must be 0, 1 or blank",
                block.frame[pos[LABEL_COLUMN]],
            )
        else:
            label = pd.array([pd.NA] * len(block.frame), dtype="Int8")
        banks.append(block.frame[pos["bank"]].to_numpy(dtype=object))
        accounts.append(block.frame[pos["account"]].to_numpy(dtype=object))
        labels.append(label)
        lines.append(block.lines)
    bank, account = concat(banks), concat(accounts)
    duplicated = pd.DataFrame({"b": bank, "a": account}).duplicated().to_numpy()
    issues.add_rows(concat(lines, np.int64), duplicated, "account listed more than once", account)
    raise_if_any(issues)
    return bank, account, concat_labels(labels)
