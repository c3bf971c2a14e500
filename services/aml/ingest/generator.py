"""Synthetic AMLworld-style datasets with planted, labelled laundering (`twincore aml generate`).

`generate(config)` builds background traffic (`background.py`) and plants the eight
AMLworld typologies plus structuring (`planting.py`); `write_generated` writes:

- `transactions.csv`: the AMLworld header and format, sorted by time, `Is Laundering` per row;
- `patterns.csv`: `row,pattern,group` for every laundering row (row = 0-based data row of
  transactions.csv, which is also the transaction id after ingestion, since the file is in time
  order; group = the planted instance);
- `metadata.json`: the configuration and counts per pattern.

The same seed gives the same files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.detect.detectors.base import PATTERNS
from twincore.services.aml.ingest.background import (
    CURRENCIES,
    FMT,
    PAYMENT_FORMATS,
    Payments,
    everyday,
    make_population,
    salaries,
)
from twincore.services.aml.ingest.formats.amlworld import AMLWORLD_HEADER
from twincore.services.aml.ingest.planting import plant

PATTERNS_FILE = "patterns.csv"
TRANSACTIONS_FILE = "transactions.csv"
METADATA_FILE = "metadata.json"
SALARY_SHARE = 0.15
"""At most this share of the background is payroll (the rest is everyday traffic)."""


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate."""

    accounts: int
    """Number of accounts (at least 50)."""
    days: int
    """Length of the simulated period in days, starting at `start`."""
    seed: int = 0
    transactions: int | None = None
    """Total transactions; default accounts * days / 2 (half a payment per account per day)."""
    laundering_rate: float = 0.0015
    """Share of laundering transactions (AMLworld HI sets are about 0.1 %)."""
    min_instances: int = 2
    """Each pattern is planted at least this often, whatever the rate."""
    start: str = "2022-09-01"
    """First day (UTC), as in AMLworld."""

    def total(self) -> int:
        return (
            self.transactions if self.transactions is not None else self.accounts * self.days // 2
        )

    def check(self) -> None:
        if self.accounts < 50:
            raise ValueError("generate at least 50 accounts")
        if self.days < 1:
            raise ValueError("generate at least one day")
        if not 0 <= self.laundering_rate < 0.5:
            raise ValueError("the laundering rate must be in [0, 0.5)")
        if self.total() < 1:
            raise ValueError("generate at least one transaction")


@dataclass
class Generated:
    """A generated dataset in memory: AMLworld columns and the pattern of each laundering row."""

    transactions: pd.DataFrame  # AMLworld columns (both account columns named distinctly)
    patterns: pd.DataFrame  # row, pattern, group
    metadata: dict[str, Any]


def generate(config: GeneratorConfig) -> Generated:
    """Build the dataset (numpy-vectorised background; a loop over a few hundred instances)."""
    config.check()
    rng = np.random.default_rng(config.seed)
    start = datetime.fromisoformat(config.start).replace(tzinfo=UTC)
    pop = make_population(rng, config.accounts)
    total = config.total()
    target = round(config.laundering_rate * total)
    planted = plant(rng, pop, days=config.days, target=target, min_instances=config.min_instances)
    n_background = total - len(planted.group)
    if n_background < 0:
        raise ValueError(
            f"{total} transactions cannot hold the {len(planted.group)} planted laundering "
            "ones: ask for more transactions or a lower --min-instances"
        )
    pay = salaries(rng, pop, days=config.days, budget=int(n_background * SALARY_SHARE))
    rest = everyday(
        rng, pop, n_background - len(pay.ts), days=config.days, first_weekday=start.weekday()
    )
    payments = Payments.concat([pay, rest, planted.payments])
    label = np.zeros(total, dtype=np.int8)
    label[total - len(planted.group) :] = 1
    order = np.argsort(payments.ts, kind="stable")
    row_of = np.empty(total, dtype=np.int64)
    row_of[order] = np.arange(total)
    frame = _amlworld_frame(payments, pop, order, start, label)
    planted_rows = row_of[total - len(planted.group) :]
    patterns = pd.DataFrame(
        {"row": planted_rows, "pattern": planted.pattern, "group": planted.group}
    ).sort_values("row", kind="stable", ignore_index=True)
    counts = patterns.groupby("pattern")["group"].agg(["count", "nunique"])
    metadata = {
        "config": asdict(config),
        "transactions": total,
        "accounts": pop.size,
        "laundering_transactions": int(label.sum()),
        "patterns": {
            name: {
                "transactions": int(counts.loc[name, "count"]),
                "instances": int(counts.loc[name, "nunique"]),
            }
            for name in PATTERNS
            if name in counts.index
        },
        "threshold_usd": 10_000,
    }
    return Generated(frame, patterns, metadata)


def _amlworld_frame(
    payments: Payments,
    pop: Any,
    order: np.ndarray,
    start: datetime,
    label: np.ndarray,
) -> pd.DataFrame:
    src, dst, fmt = payments.src[order], payments.dst[order], payments.fmt[order]
    usd = payments.usd[order]
    names = np.array(list(CURRENCIES), dtype=object)
    rates = np.array(list(CURRENCIES.values()))
    bitcoin = fmt == FMT["Bitcoin"]
    btc = len(names) - 1
    pay_currency = np.where(bitcoin, btc, pop.currency[src])
    receive_currency = np.where(bitcoin, btc, pop.currency[dst])
    # Cents for money, satoshis for bitcoin.
    digits = np.where(pay_currency == btc, 8, 2)
    paid = _round(usd * rates[pay_currency], digits)
    received = _round(usd * rates[receive_currency], np.where(receive_currency == btc, 8, 2))
    when = pd.to_datetime(int(start.timestamp()) + payments.ts[order], unit="s")
    bank = np.char.zfill(pop.bank.astype(str), 3).astype(object)
    return pd.DataFrame(
        {
            "Timestamp": when.strftime("%Y/%m/%d %H:%M"),
            "From Bank": bank[src],
            "Account": pop.account_id[src],
            "To Bank": bank[dst],
            "Account.1": pop.account_id[dst],
            "Amount Received": received,
            "Receiving Currency": names[receive_currency],
            "Amount Paid": paid,
            "Payment Currency": names[pay_currency],
            "Payment Format": np.array(PAYMENT_FORMATS, dtype=object)[fmt],
            "Is Laundering": label[order],
        }
    )


def _round(values: np.ndarray, digits: np.ndarray) -> np.ndarray:
    scale = 10.0**digits
    return np.maximum(np.round(values * scale), 1) / scale


def write_generated(data: Generated, out_dir: Path) -> Path:
    """Write transactions.csv, patterns.csv and metadata.json into `out_dir`; returns it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data.transactions.to_csv(
        out_dir / TRANSACTIONS_FILE, index=False, header=list(AMLWORLD_HEADER), float_format="%.10g"
    )
    data.patterns.to_csv(out_dir / PATTERNS_FILE, index=False)
    (out_dir / METADATA_FILE).write_text(
        json.dumps(data.metadata, indent=2) + "\n", encoding="utf-8"
    )
    return out_dir


def read_patterns(folder: Path) -> pd.DataFrame | None:
    """patterns.csv of a generated folder (row, pattern, group), or None when there is none."""
    path = folder / PATTERNS_FILE if folder.is_dir() else folder.parent / PATTERNS_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"row": np.int64, "pattern": str, "group": np.int64})
