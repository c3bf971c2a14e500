"""Laundering patterns planted by the generator: AMLworld's eight typologies plus structuring.

Each instance is a small group of accounts moving money inside a time window of hours to days;
its transactions are labelled laundering and recorded with the pattern name and a group id, so
per-typology recall can be measured. Members are ordinary accounts of the population (they keep
their legitimate traffic too), never merchants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from twincore.services.aml.detect.detectors.base import PATTERNS
from twincore.services.aml.ingest.background import DAY, FMT, MERCHANT, Payments, Population

"""Names as the detectors report them (services/aml/detect/detectors)."""
REPORTING_THRESHOLD = 10_000.0
"""Cash/transfer amount (USD) above which banks report; structuring stays just under it."""
LAUNDERING_FORMATS = {
    "ACH": 0.35,
    "Wire": 0.2,
    "Cash": 0.15,
    "Cheque": 0.1,
    "Bitcoin": 0.1,
    "Credit Card": 0.1,
}

Leg = tuple[float, int, int, float]
"""(seconds after the window start, source, destination, amount in USD)."""


@dataclass
class Planted:
    """Laundering payments with the pattern and group of each."""

    payments: Payments
    pattern: np.ndarray  # [L] str
    group: np.ndarray  # [L] int, one id per planted instance
    members: dict[int, list[int]] = field(default_factory=dict)  # group -> account keys


class _Members:
    """Draws distinct accounts for instances, reusing none until the pool runs out."""

    def __init__(self, rng: np.random.Generator, pool: np.ndarray) -> None:
        self._rng, self._pool = rng, pool
        self._order = rng.permutation(pool)
        self._next = 0

    def take(self, k: int) -> list[int]:
        if self._next + k > len(self._order):
            self._order, self._next = self._rng.permutation(self._pool), 0
        out = self._order[self._next : self._next + k]
        self._next += k
        return [int(x) for x in out]


def _amount(rng: np.random.Generator, median: float = 4_000.0) -> float:
    return float(rng.lognormal(np.log(median), 0.6))


def _fee(rng: np.random.Generator) -> float:
    """What an intermediary keeps before passing money on (1-5 %)."""
    return float(rng.uniform(0.95, 0.99))


def _gaps(rng: np.random.Generator, n: int, span: float) -> np.ndarray:
    """n increasing offsets inside [0, span)."""
    return np.sort(rng.uniform(0, span, n))


def _fan_out(rng: np.random.Generator, take: Callable[[int], list[int]], span: float) -> list[Leg]:
    hub, *targets = take(int(rng.integers(5, 12)))
    times = _gaps(rng, len(targets), span)
    return [(t, hub, d, _amount(rng)) for t, d in zip(times, targets, strict=True)]


def _fan_in(rng: np.random.Generator, take: Callable[[int], list[int]], span: float) -> list[Leg]:
    hub, *sources = take(int(rng.integers(5, 12)))
    times = _gaps(rng, len(sources), span)
    return [(t, s, hub, _amount(rng)) for t, s in zip(times, sources, strict=True)]


def _gather_scatter(
    rng: np.random.Generator, take: Callable[[int], list[int]], span: float
) -> list[Leg]:
    k_in, k_out = int(rng.integers(3, 7)), int(rng.integers(3, 7))
    hub, *others = take(1 + k_in + k_out)
    legs = [
        (t, s, hub, _amount(rng))
        for t, s in zip(_gaps(rng, k_in, span / 2), others[:k_in], strict=True)
    ]
    total = sum(leg[3] for leg in legs) * _fee(rng)
    shares = rng.dirichlet(np.full(k_out, 4.0)) * total
    times = span / 2 + _gaps(rng, k_out, span / 2)
    legs += [(t, hub, d, float(a)) for t, d, a in zip(times, others[k_in:], shares, strict=True)]
    return legs


def _scatter_gather(
    rng: np.random.Generator, take: Callable[[int], list[int]], span: float
) -> list[Leg]:
    k = int(rng.integers(3, 8))
    src, dst, *mules = take(2 + k)
    legs: list[Leg] = []
    for t, mule in zip(_gaps(rng, k, span / 2), mules, strict=True):
        amount = _amount(rng)
        legs.append((t, src, mule, amount))
        legs.append((t + rng.uniform(0.1, 0.5) * span, mule, dst, amount * _fee(rng)))
    return legs


def _cycle(rng: np.random.Generator, take: Callable[[int], list[int]], span: float) -> list[Leg]:
    ring = take(int(rng.integers(3, 7)))
    amount, legs = _amount(rng, 8_000.0), []
    for i, t in enumerate(_gaps(rng, len(ring), span)):
        legs.append((t, ring[i], ring[(i + 1) % len(ring)], amount))
        amount *= _fee(rng)
    return legs


def _random(rng: np.random.Generator, take: Callable[[int], list[int]], span: float) -> list[Leg]:
    group = take(int(rng.integers(4, 9)))
    here, amount, legs = group[0], _amount(rng, 6_000.0), []
    for t in _gaps(rng, len(group) + 2, span):
        there = group[int(rng.integers(0, len(group) - 1))]
        there = group[-1] if there == here else there
        legs.append((t, here, there, amount))
        here, amount = there, amount * _fee(rng)
    return legs


def _bipartite_legs(
    rng: np.random.Generator, left: list[int], right: list[int], start: float, span: float
) -> list[Leg]:
    pairs = [(a, b) for a in left for b in right]
    times = start + _gaps(rng, len(pairs), span)
    return [(t, a, b, _amount(rng, 2_500.0)) for t, (a, b) in zip(times, pairs, strict=True)]


def _bipartite(
    rng: np.random.Generator, take: Callable[[int], list[int]], span: float
) -> list[Leg]:
    k_left, k_right = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    group = take(k_left + k_right)
    return _bipartite_legs(rng, group[:k_left], group[k_left:], 0.0, span)


def _stack(rng: np.random.Generator, take: Callable[[int], list[int]], span: float) -> list[Leg]:
    sizes = [int(rng.integers(2, 4)) for _ in range(3)]
    group = take(sum(sizes))
    a, b, c = group[: sizes[0]], group[sizes[0] : sizes[0] + sizes[1]], group[sizes[0] + sizes[1] :]
    return _bipartite_legs(rng, a, b, 0.0, span / 2) + _bipartite_legs(
        rng, b, c, span / 2, span / 2
    )


def _structuring(
    rng: np.random.Generator, take: Callable[[int], list[int]], span: float
) -> list[Leg]:
    k_dst = int(rng.integers(1, 4))
    src, *targets = take(1 + k_dst)
    n = int(rng.integers(5, 13))
    times = _gaps(rng, n, span)
    # Amounts cluster just under the threshold (9,000-9,990), rounded like cash deposits.
    amounts = np.round(rng.uniform(0.9, 0.999, n) * REPORTING_THRESHOLD, -1)
    return [
        (t, src, targets[i % k_dst], float(a))
        for i, (t, a) in enumerate(zip(times, amounts, strict=True))
    ]


BUILDERS: dict[
    str, Callable[[np.random.Generator, Callable[[int], list[int]], float], list[Leg]]
] = {
    "fan_out": _fan_out,
    "fan_in": _fan_in,
    "gather_scatter": _gather_scatter,
    "scatter_gather": _scatter_gather,
    "simple_cycle": _cycle,
    "random": _random,
    "bipartite": _bipartite,
    "stack": _stack,
    "structuring": _structuring,
}


def plant(
    rng: np.random.Generator,
    pop: Population,
    *,
    days: int,
    target: int,
    min_instances: int,
) -> Planted:
    """Plant instances round-robin over the patterns until `target` laundering payments exist
    and every pattern has at least `min_instances`."""
    candidates = np.flatnonzero(pop.kind != MERCHANT)
    # Structuring is defined against a US-dollar threshold: its members bank in dollars.
    usd = candidates[pop.currency[candidates] == 0]
    members = _Members(rng, candidates)
    usd_members = _Members(rng, usd if len(usd) >= 16 else candidates)
    ts: list[float] = []
    src: list[int] = []
    dst: list[int] = []
    usd_amount: list[float] = []
    fmt: list[int] = []
    names: list[str] = []
    groups: list[int] = []
    planted = Planted(Payments.empty(), np.array([]), np.array([]))
    group = 0
    while len(ts) < target or group < min_instances * len(PATTERNS):
        name = PATTERNS[group % len(PATTERNS)]
        span = float(rng.uniform(0.25, 1.0) * min(7, days) * DAY)
        take = usd_members.take if name == "structuring" else members.take
        legs = BUILDERS[name](rng, take, span)
        start = float(rng.uniform(0, max(days * DAY - span, 1.0)))
        if name == "structuring":
            leg_fmt = np.where(rng.random(len(legs)) < 0.6, FMT["Cash"], FMT["ACH"])
        else:
            leg_fmt = _instance_formats(rng, len(legs))
        for (offset, s, d, amount), code in zip(legs, leg_fmt, strict=True):
            ts.append(start + offset)
            src.append(s)
            dst.append(d)
            usd_amount.append(round(amount, 2))
            fmt.append(int(code))
            names.append(name)
            groups.append(group)
        planted.members[group] = sorted({s for _, s, _, _ in legs} | {d for _, _, d, _ in legs})
        group += 1
    # Minute resolution like AMLworld, and inside the simulated period.
    seconds = np.minimum(np.asarray(ts) // 60 * 60, days * DAY - 60).astype(np.int64)
    planted.payments = Payments(
        seconds,
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        np.asarray(usd_amount),
        np.asarray(fmt, np.int64),
    )
    planted.pattern = np.asarray(names, dtype=object)
    planted.group = np.asarray(groups, dtype=np.int64)
    return planted


def _instance_formats(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mostly one channel per instance (a ring wires, a mule network moves cash), some mixed."""
    names = list(LAUNDERING_FORMATS)
    p = np.array(list(LAUNDERING_FORMATS.values()))
    codes = np.array([FMT[x] for x in names])
    main = codes[rng.choice(len(codes), p=p / p.sum())]
    mixed = codes[rng.choice(len(codes), n, p=p / p.sum())]
    return np.where(rng.random(n) < 0.75, main, mixed)
