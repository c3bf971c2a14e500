"""IBM AMLSim output: `nodes.csv` (nodeid,isFraud,init_balance,fraudStep) and `transactions.csv`
(sourceNodeId,targetNodeId,value,time) in one folder.

AMLSim counts time in steps (days): ts = 2020-01-01T00:00Z + step * 86400. Every account belongs to
bank "amlsim", every transaction is a USD "transfer"; ground truth is the account's isFraud, so
transaction labels are unknown and the label level is "account".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.ingest.formats.common import (
    check_field_counts,
    concat,
    concat_labels,
    header_positions,
)
from twincore.services.aml.ingest.formats.csvchunks import Progress, iter_blocks
from twincore.services.aml.ingest.formats.fields import parse_float, parse_int, parse_label
from twincore.services.aml.ingest.formats.issues import IssueCollector, raise_if_any
from twincore.services.aml.ingest.frames import Dataset, accounts_frame, transactions_frame

AMLSIM_EPOCH = 1_577_836_800
"""2020-01-01T00:00:00Z in unix seconds: AMLSim step 0."""
STEP_SECONDS = 86_400
NODE_COLUMNS = ("nodeid", "isFraud")
TRANSACTION_COLUMNS = ("sourceNodeId", "targetNodeId", "value", "time")
NODES_FILE = "nodes.csv"
TRANSACTIONS_FILE = "transactions.csv"


def is_amlsim_dir(path: Path) -> bool:
    return path.is_dir() and (path / NODES_FILE).is_file() and (path / TRANSACTIONS_FILE).is_file()


def read_amlsim(folder: Path, *, name: str, progress: Progress | None = None) -> Dataset:
    """Parse and validate an AMLSim folder; raises IngestError listing every bad line."""
    node_ids, labels = _read_nodes(folder / NODES_FILE)
    issues = IssueCollector(TRANSACTIONS_FILE)
    path = folder / TRANSACTIONS_FILE
    positions, n_columns = header_positions(path, TRANSACTION_COLUMNS)
    parts: dict[str, list[np.ndarray]] = {"src": [], "dst": [], "amount": [], "step": []}
    order = np.argsort(node_ids, kind="stable")
    sorted_ids = node_ids[order]
    for block in iter_blocks(path, n_columns, progress=progress):
        good = check_field_counts(block, n_columns, issues)
        frame, lines = block.frame, block.lines
        for column, key in (("sourceNodeId", "src"), ("targetNodeId", "dst")):
            ids, bad = parse_int(frame[positions[column]])
            issues.add_rows(
                lines, bad & good, f"{column} is not an integer", frame[positions[column]]
            )
            # nodes.csv is non-empty here (_read_nodes rejects an empty one).
            found = np.searchsorted(sorted_ids, ids).clip(0, len(sorted_ids) - 1)
            unknown = ~bad & good & (sorted_ids[found] != ids)
            issues.add_rows(lines, unknown, f"{column} is not an account in {NODES_FILE}", ids)
            parts[key].append(order[found])
        amount, bad = parse_float(frame[positions["value"]])
        issues.add_rows(lines, bad & good, "value is not a number", frame[positions["value"]])
        issues.add_rows(lines, ~bad & good & (amount < 0), "value is negative", amount)
        parts["amount"].append(amount)
        step, bad = parse_int(frame[positions["time"]])
        issues.add_rows(lines, bad & good, "time is not an integer step", frame[positions["time"]])
        issues.add_rows(lines, ~bad & good & (step < 0), "time step is negative", step)
        parts["step"].append(step)
    if not parts["src"] and not issues:
        issues.add(0, "no transactions")
    raise_if_any(issues)
    n = sum(len(part) for part in parts["src"])
    accounts = accounts_frame(
        np.full(len(node_ids), "amlsim", dtype=object), node_ids.astype(str), labels
    )
    transactions = transactions_frame(
        ts=AMLSIM_EPOCH + concat(parts["step"], np.int64) * STEP_SECONDS,
        src=concat(parts["src"], np.int64),
        dst=concat(parts["dst"], np.int64),
        amount=concat(parts["amount"], np.float64),
        currency=np.full(n, "USD", dtype=object),
        payment_format=np.full(n, "transfer", dtype=object),
        label=None,
    )
    return Dataset(name, "amlsim", accounts, transactions, "account")


def _read_nodes(path: Path) -> tuple[np.ndarray, pd.arrays.IntegerArray]:
    issues = IssueCollector(NODES_FILE)
    positions, n_columns = header_positions(path, NODE_COLUMNS)
    ids_parts: list[np.ndarray] = []
    label_parts: list[pd.arrays.IntegerArray] = []
    line_parts: list[np.ndarray] = []
    for block in iter_blocks(path, n_columns):
        good = check_field_counts(block, n_columns, issues)
        ids, bad = parse_int(block.frame[positions["nodeid"]])
        issues.add_rows(
            block.lines, bad & good, "nodeid is not an integer", block.frame[positions["nodeid"]]
        )
        labels, bad = parse_label(block.frame[positions["isFraud"]], allow_blank=False)
        issues.add_rows(
            block.lines, bad & good, "isFraud must be 0 or 1", block.frame[positions["isFraud"]]
        )
        ids_parts.append(ids)
        label_parts.append(labels)
        line_parts.append(block.lines)
    ids = concat(ids_parts, np.int64)
    lines = concat(line_parts, np.int64)
    duplicated = pd.Series(ids).duplicated().to_numpy()
    issues.add_rows(lines, duplicated, "nodeid appears more than once", ids)
    if len(ids) == 0 and not issues:
        issues.add(0, "no accounts")
    raise_if_any(issues)
    return ids, concat_labels(label_parts)
