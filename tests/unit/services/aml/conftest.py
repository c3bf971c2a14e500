"""Fixtures for the AML detection tests: steady clean traffic and each pattern planted in it.

The background is built so that no detector can fire on it by construction: 60 accounts on a
ring, each paying the same two payees (i+1, i+7) every week at its own habitual amount, so every
account has exactly two payees and two payers per window (no fan, no burst), the ring has no short
cycles, and habitual amounts differ too much between neighbours for money to be "passed on".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from twincore.services.aml.ingest.frames import Dataset, accounts_frame, transactions_frame

DAY = 86_400
HOUR = 3_600
T0 = 1_661_990_400  # 2022-09-01 00:00 UTC
N_BACKGROUND = 60
WEEKS = 5
PLANT_AT = T0 + 15 * DAY  # inside week 3, away from the edges


@dataclass
class Payments:
    """Payments as parallel lists; `laundering` marks the planted ones."""

    ts: list[int] = field(default_factory=list)
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)
    laundering: list[int] = field(default_factory=list)

    def add(self, ts: int, src: int, dst: int, amount: float, laundering: int = 1) -> None:
        self.ts.append(int(ts))
        self.src.append(src)
        self.dst.append(dst)
        self.amount.append(round(float(amount), 2))
        self.laundering.append(laundering)


def background(seed: int = 0) -> Payments:
    """Steady weekly payments on the ring (labelled clean)."""
    rng = np.random.default_rng(seed)
    habit = np.round(rng.lognormal(np.log(300.0), 0.8, N_BACKGROUND), 2)
    weekday = rng.integers(0, 7, N_BACKGROUND)
    hour = rng.integers(8, 20, N_BACKGROUND)
    payments = Payments()
    for week in range(WEEKS):
        for i in range(N_BACKGROUND):
            when = T0 + week * 7 * DAY + int(weekday[i]) * DAY + int(hour[i]) * HOUR
            for step in (1, 7):
                payments.add(when, i, (i + step) % N_BACKGROUND, habit[i], laundering=0)
    return payments


def dataset(payments: Payments, *, name: str = "synthetic") -> Dataset:
    """A Dataset (transaction-level labels) over accounts 0..max key."""
    n = max(max(payments.src), max(payments.dst)) + 1
    keys = np.arange(n)
    tx = transactions_frame(
        ts=np.asarray(payments.ts),
        src=np.asarray(payments.src),
        dst=np.asarray(payments.dst),
        amount=np.asarray(payments.amount),
        currency=np.array(["US Dollar"] * len(payments.ts)),
        payment_format=np.array(["Wire"] * len(payments.ts)),
        label=np.asarray(payments.laundering),
    )
    touched = np.zeros(n, dtype=np.int8)
    bad = np.asarray(payments.laundering) == 1
    touched[np.asarray(payments.src)[bad]] = 1
    touched[np.asarray(payments.dst)[bad]] = 1
    accounts = accounts_frame(
        np.array(["bank"] * n, dtype=object), keys.astype(str).astype(object), touched
    )
    return Dataset(
        name=name,
        source_format="canonical",
        accounts=accounts,
        transactions=tx,
        label_level="transaction",
    )


def plant(pattern: str, payments: Payments) -> list[int]:
    """Plant one instance of `pattern` among background accounts; returns its core accounts."""
    t = PLANT_AT
    if pattern == "fan_out":
        for k, target in enumerate(range(10, 16)):
            payments.add(t + k * 3 * HOUR, 3, target, 5_000 + 37 * k)
        return [3]
    if pattern == "fan_in":
        for k, source in enumerate(range(20, 26)):
            payments.add(t + k * 3 * HOUR, source, 4, 5_000 + 41 * k)
        return [4]
    if pattern == "gather_scatter":
        for k, source in enumerate((30, 31, 32, 33)):
            payments.add(t + k * 2 * HOUR, source, 5, 4_000.0)
        for k, target in enumerate((34, 35, 36, 37)):
            payments.add(t + DAY + k * 2 * HOUR, 5, target, 3_800.0)
        return [5]
    if pattern == "scatter_gather":
        for k, mule in enumerate((40, 41, 42, 43)):
            payments.add(t + k * HOUR, 6, mule, 4_500.0 + 10 * k)
            payments.add(t + DAY + k * HOUR, mule, 8, (4_500.0 + 10 * k) * 0.97)
        return [6, 8]
    if pattern == "simple_cycle":
        ring, amount = [11, 23, 35, 47], 8_000.0
        for k, account in enumerate(ring):
            payments.add(t + k * 6 * HOUR, account, ring[(k + 1) % len(ring)], amount)
            amount *= 0.97
        return ring
    if pattern == "random":
        walk, amount = [12, 29, 44, 51, 18, 38], 6_000.0
        for k in range(len(walk) - 1):
            payments.add(t + k * 5 * HOUR, walk[k], walk[k + 1], amount)
            amount *= 0.98
        return walk
    if pattern == "bipartite":
        for i, left in enumerate((13, 27, 39)):
            for j, right in enumerate((50, 53, 57)):
                payments.add(t + (3 * i + j) * HOUR, left, right, 2_500.0 + 10 * i + j)
        return [13, 27, 39, 50, 53, 57]
    if pattern == "stack":
        first, middle, last = (14, 28), (45, 50, 56), (19, 33)
        for i, a in enumerate(first):
            for j, b in enumerate(middle):
                payments.add(t + (3 * i + j) * HOUR, a, b, 2_400.0 + i + j)
        for i, b in enumerate(middle):
            for j, c in enumerate(last):
                payments.add(t + DAY + (2 * i + j) * HOUR, b, c, 2_300.0 + i + j)
        return [*first, *middle, *last]
    if pattern == "structuring":
        for k, amount in enumerate((9_500.0, 9_700.0, 9_400.0, 9_800.0)):
            payments.add(t + k * DAY, 17, 26 + (k % 2), amount)
        return [17]
    raise ValueError(pattern)


@pytest.fixture
def synth() -> SimpleNamespace:
    """The builders above: `background()`, `plant(pattern, payments)`, `dataset(payments)`."""
    return SimpleNamespace(background=background, plant=plant, dataset=dataset, DAY=DAY)
