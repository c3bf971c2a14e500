"""IBM AMLworld transaction CSVs (Altman et al., NeurIPS 2023; e.g. HI-Small_Trans.csv).

Header (note the two `Account` columns: payer then payee):
`Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,Amount Paid,
Payment Currency,Payment Format,Is Laundering`. Timestamps look like `2022/09/01 00:20` and are read
as UTC. An account is identified by (bank, account). The stored amount is the amount paid, in the
payment currency; labels are per transaction, and account labels are derived from them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.ingest.formats.common import (
    check_exact_header,
    check_field_counts,
    check_nonempty,
    concat,
    concat_labels,
    factorize_accounts,
)
from twincore.services.aml.ingest.formats.csvchunks import Progress, iter_blocks
from twincore.services.aml.ingest.formats.fields import parse_float, parse_label, parse_timestamp
from twincore.services.aml.ingest.formats.issues import IssueCollector, raise_if_any
from twincore.services.aml.ingest.frames import (
    Dataset,
    accounts_frame,
    derive_account_labels,
    transactions_frame,
)

AMLWORLD_HEADER = (
    "Timestamp",
    "From Bank",
    "Account",
    "To Bank",
    "Account",
    "Amount Received",
    "Receiving Currency",
    "Amount Paid",
    "Payment Currency",
    "Payment Format",
    "Is Laundering",
)
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M"


def read_amlworld(path: Path, *, name: str, progress: Progress | None = None) -> Dataset:
    """Parse and validate an AMLworld CSV; raises IngestError listing every bad line."""
    check_exact_header(path, AMLWORLD_HEADER)
    issues = IssueCollector(path.name)
    width = len(AMLWORLD_HEADER)
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("ts", "fb", "fa", "tb", "ta", "amount", "cur", "fmt", "label")
    }
    labels: list[pd.arrays.IntegerArray] = []
    for block in iter_blocks(path, width, progress=progress):
        good = check_field_counts(block, width, issues)
        frame, lines = block.frame, block.lines
        ts, bad = parse_timestamp(frame[0], fmt=TIMESTAMP_FORMAT)
        issues.add_rows(lines, bad & good, "Timestamp is not YYYY/MM/DD HH:MM", frame[0])
        for column, title in ((1, "From Bank"), (2, "Account"), (3, "To Bank"), (4, "Account")):
            check_nonempty(block, column, title, good, issues)
        for column, title in ((5, "Amount Received"), (7, "Amount Paid")):
            amount, bad = parse_float(frame[column])
            issues.add_rows(lines, bad & good, f"{title} is not a number", frame[column])
            issues.add_rows(lines, ~bad & good & (amount < 0), f"{title} is negative", amount)
        for column, title in ((6, "Receiving Currency"), (8, "Payment Currency")):
            check_nonempty(block, column, title, good, issues)
        check_nonempty(block, 9, "Payment Format", good, issues)
        label, bad = parse_label(frame[10], allow_blank=False)
        issues.add_rows(lines, bad & good, "Is Laundering must be 0 or 1", frame[10])
        if issues:
            continue  # the file is rejected: keep validating, stop collecting
        cols["ts"].append(ts)
        cols["fb"].append(frame[1].to_numpy(dtype=object))
        cols["fa"].append(frame[2].to_numpy(dtype=object))
        cols["tb"].append(frame[3].to_numpy(dtype=object))
        cols["ta"].append(frame[4].to_numpy(dtype=object))
        cols["amount"].append(parse_float(frame[7])[0])
        cols["cur"].append(frame[8].to_numpy(dtype=object))
        cols["fmt"].append(frame[9].to_numpy(dtype=object))
        labels.append(label)
    if not labels and not issues:
        issues.add(0, "no transactions")
    raise_if_any(issues)
    (src, dst), bank, account = factorize_accounts(
        [concat(cols["fb"]), concat(cols["tb"])], [concat(cols["fa"]), concat(cols["ta"])]
    )
    transactions = transactions_frame(
        ts=concat(cols["ts"], np.int64),
        src=src,
        dst=dst,
        amount=concat(cols["amount"], np.float64),
        currency=concat(cols["cur"]),
        payment_format=concat(cols["fmt"]),
        label=concat_labels(labels),
    )
    accounts = derive_account_labels(accounts_frame(bank, account, None), transactions)
    return Dataset(name, "amlworld", accounts, transactions, "transaction")
