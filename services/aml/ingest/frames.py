"""The in-memory dataset every AML stage shares: accounts and transactions as columnar frames.

Parsers build a `Dataset`, storage writes and reads it back, detection reads it. Account keys are
dense ints 0..n_accounts-1 and transaction ids dense ints 0..n_transactions-1, both local to the
dataset, so features can index numpy arrays directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

SourceFormat = Literal["amlsim", "amlworld", "canonical"]
LabelLevel = Literal["account", "transaction"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = ("amlsim", "amlworld", "canonical")

ACCOUNT_COLUMNS = ("bank", "account", "label")
TRANSACTION_COLUMNS = (
    "txn",
    "ts",
    "src",
    "dst",
    "amount",
    "currency",
    "payment_format",
    "label",
)


@dataclass
class Dataset:
    """A dataset in memory, columnar. Account keys are dense ints 0..n_accounts-1."""

    name: str
    source_format: SourceFormat
    accounts: pd.DataFrame
    """Index = account key (int); columns: bank: str, account: str (external id),
    label: Int8 nullable (1 laundering/fraud, 0 clean, <NA> unknown)."""
    transactions: pd.DataFrame
    """Sorted by ts; columns: txn: int64 (dense 0..n-1, dataset-local), ts: int64 (unix seconds
    UTC), src: int64, dst: int64 (account keys), amount: float64 (amount paid), currency: category,
    payment_format: category, label: Int8 nullable."""
    label_level: LabelLevel | None
    """Where the ground truth lives: AMLSim labels accounts (isFraud); AMLworld and generated data
    label transactions, and their account labels are derived (any laundering txn touching it)."""

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    @property
    def n_transactions(self) -> int:
        return len(self.transactions)

    def validate(self) -> None:
        """Raise ValueError when the frames break the contract (a parser bug, not bad input)."""
        if tuple(self.accounts.columns) != ACCOUNT_COLUMNS:
            raise ValueError(f"accounts columns {list(self.accounts.columns)} != {ACCOUNT_COLUMNS}")
        if tuple(self.transactions.columns) != TRANSACTION_COLUMNS:
            raise ValueError(
                f"transactions columns {list(self.transactions.columns)} != {TRANSACTION_COLUMNS}"
            )
        n = self.n_accounts
        if not np.array_equal(self.accounts.index.to_numpy(), np.arange(n)):
            raise ValueError("account keys must be 0..n_accounts-1 in order")
        txns = self.transactions
        if not np.array_equal(txns["txn"].to_numpy(), np.arange(len(txns))):
            raise ValueError("transaction ids must be 0..n_transactions-1 in order")
        ts = txns["ts"].to_numpy()
        if len(ts) > 1 and bool((np.diff(ts) < 0).any()):
            raise ValueError("transactions must be sorted by ts")
        for column in ("src", "dst"):
            keys = txns[column].to_numpy()
            if len(keys) and (keys.min() < 0 or keys.max() >= n):
                raise ValueError(f"transactions.{column} has an account key outside 0..{n - 1}")


def accounts_frame(
    bank: np.ndarray, account: np.ndarray, label: np.ndarray | pd.array | None
) -> pd.DataFrame:
    """Build the accounts frame (keys 0..n-1) from parallel arrays; label None = all unknown."""
    n = len(bank)
    labels = pd.array([pd.NA] * n if label is None else label, dtype="Int8")
    frame = pd.DataFrame(
        {
            "bank": pd.Series(bank, dtype=object).astype(str),
            "account": pd.Series(account, dtype=object).astype(str),
            "label": labels,
        }
    )
    frame.index = pd.RangeIndex(n, name="key")
    return frame


def transactions_frame(
    *,
    ts: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    amount: np.ndarray,
    currency: np.ndarray | pd.Categorical,
    payment_format: np.ndarray | pd.Categorical,
    label: np.ndarray | pd.array | None,
) -> pd.DataFrame:
    """Build the transactions frame: stable-sorted by ts (ties keep file order), txn = 0..n-1."""
    n = len(ts)
    labels = pd.array([pd.NA] * n if label is None else label, dtype="Int8")
    frame = pd.DataFrame(
        {
            "ts": np.asarray(ts, dtype=np.int64),
            "src": np.asarray(src, dtype=np.int64),
            "dst": np.asarray(dst, dtype=np.int64),
            "amount": np.asarray(amount, dtype=np.float64),
            "currency": pd.Categorical(currency),
            "payment_format": pd.Categorical(payment_format),
            "label": labels,
        }
    )
    order = np.argsort(frame["ts"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "txn", np.arange(n, dtype=np.int64))
    return frame


def derive_account_labels(accounts: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    """Account labels from transaction labels: 1 when any laundering txn touches the account,
    0 when every txn touching it is labelled and none launders, <NA> otherwise (or untouched)."""
    n = len(accounts)
    label = transactions["label"]
    src = transactions["src"].to_numpy()
    dst = transactions["dst"].to_numpy()
    known = label.notna().to_numpy()
    bad = (label.fillna(0).to_numpy(dtype=np.int8) == 1) & known
    laundering = np.zeros(n, dtype=bool)
    laundering[src[bad]] = True
    laundering[dst[bad]] = True
    unknown = np.zeros(n, dtype=bool)
    unknown[src[~known]] = True
    unknown[dst[~known]] = True
    touched = np.zeros(n, dtype=bool)
    touched[src] = True
    touched[dst] = True
    out = pd.array(np.where(laundering, 1, 0), dtype="Int8")
    out[~laundering & (unknown | ~touched)] = pd.NA
    result = accounts.copy()
    result["label"] = out
    return result
