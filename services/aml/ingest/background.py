"""Background (legitimate) traffic for the generator: a population of banks and accounts and the
payments between them, vectorised with numpy.

What makes it realistic enough that detection is not trivial: heavy-tailed amounts (lognormal
with a Pareto tail), employers paying fixed salaries on fixed days (a fan-out every payday),
merchants with Zipf popularity (high in-degree, so fan-in alone is not laundering), peer transfers
inside small circles, business-to-business wires in office hours, self "Reinvestment" transfers,
several currencies per bank and daily and weekly rhythms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INDIVIDUAL, BUSINESS, MERCHANT = 0, 1, 2
PAYMENT_FORMATS = ("ACH", "Cheque", "Credit Card", "Wire", "Cash", "Reinvestment", "Bitcoin")
FMT = {name: code for code, name in enumerate(PAYMENT_FORMATS)}
# AMLworld's currency names with rough units per US dollar.
CURRENCIES: dict[str, float] = {
    "US Dollar": 1.0,
    "Euro": 0.85,
    "UK Pound": 0.75,
    "Yuan": 6.7,
    "Yen": 135.0,
    "Rupee": 80.0,
    "Canadian Dollar": 1.3,
    "Australian Dollar": 1.45,
    "Swiss Franc": 0.95,
    "Mexican Peso": 20.0,
    "Brazil Real": 5.2,
    "Saudi Riyal": 3.75,
    "Ruble": 60.0,
    "Shekel": 3.5,
    "Bitcoin": 1 / 20_000,
}
FIAT = tuple(name for name in CURRENCIES if name != "Bitcoin")
HOME_CURRENCY_WEIGHTS = np.array([45, 15, 8, 6, 5, 5, 4, 3, 2, 2, 2, 1, 1, 1], dtype=float)
DAY = 86_400
# Share of payments per hour of day (people sleep; offices open 8-18).
PERSONAL_HOURS = np.array(
    [1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 11, 10, 9, 9, 9, 10, 11, 11, 10, 8, 5, 3], dtype=float
)
OFFICE_HOURS = np.array([0] * 8 + [8, 10, 10, 10, 7, 8, 10, 10, 9, 6] + [0] * 6, dtype=float)


@dataclass
class Population:
    """Accounts of the generated world, indexed by account key."""

    bank: np.ndarray  # [A] int bank number
    account_id: np.ndarray  # [A] str, hex like AMLworld's
    kind: np.ndarray  # [A] INDIVIDUAL / BUSINESS / MERCHANT
    currency: np.ndarray  # [A] int index into CURRENCIES (the bank's home currency)
    activity: np.ndarray  # [A] float, relative payment rate (lognormal)

    @property
    def size(self) -> int:
        return len(self.bank)


@dataclass
class Payments:
    """Parallel arrays of payments; amounts in US dollars before currency conversion."""

    ts: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    usd: np.ndarray
    fmt: np.ndarray

    @staticmethod
    def empty() -> Payments:
        none = np.array([], dtype=np.int64)
        return Payments(none, none.copy(), none.copy(), np.array([], dtype=float), none.copy())

    @staticmethod
    def concat(parts: list[Payments]) -> Payments:
        if not parts:
            return Payments.empty()
        return Payments(
            ts=np.concatenate([p.ts for p in parts]),
            src=np.concatenate([p.src for p in parts]),
            dst=np.concatenate([p.dst for p in parts]),
            usd=np.concatenate([p.usd for p in parts]),
            fmt=np.concatenate([p.fmt for p in parts]),
        )


def make_population(rng: np.random.Generator, n_accounts: int) -> Population:
    n_banks = max(5, n_accounts // 400)
    bank_size = rng.pareto(1.2, n_banks) + 1.0
    bank = rng.choice(n_banks, n_accounts, p=bank_size / bank_size.sum())
    bank_currency = rng.choice(
        len(FIAT), n_banks, p=HOME_CURRENCY_WEIGHTS / HOME_CURRENCY_WEIGHTS.sum()
    )
    bank_currency[np.argmax(bank_size)] = 0  # the largest bank is a US one
    kind = rng.choice(3, n_accounts, p=[0.85, 0.12, 0.03])
    # An odd multiplier mod 2**32 is a bijection: unique account numbers without a set.
    numbers = (
        np.arange(n_accounts, dtype=np.uint64) * np.uint64(2654435761)
        + np.uint64(rng.integers(1 << 31))
    ) % np.uint64(1 << 32)
    account_id = np.char.add("8", np.char.upper(np.array([format(int(x), "08x") for x in numbers])))
    activity = rng.lognormal(0.0, 0.8, n_accounts)
    return Population(bank, account_id.astype(object), kind, bank_currency[bank], activity)


def spread_times(
    rng: np.random.Generator,
    n: int,
    *,
    days: int,
    hours: np.ndarray,
    weekend: float,
    first_weekday: int,
) -> np.ndarray:
    """Seconds since the start for `n` payments: days weighted by weekday/weekend, hours by
    `hours`, minutes uniform."""
    weekday = (first_weekday + np.arange(days)) % 7
    day_weight = np.where(weekday >= 5, weekend, 1.0)
    day = rng.choice(days, n, p=day_weight / day_weight.sum())
    hour = rng.choice(24, n, p=hours / hours.sum())
    return day * DAY + hour * 3600 + rng.integers(0, 60, n) * 60


def _formats(rng: np.random.Generator, n: int, weights: dict[str, float]) -> np.ndarray:
    codes = np.array([FMT[name] for name in weights])
    p = np.array(list(weights.values()))
    return codes[rng.choice(len(codes), n, p=p / p.sum())]


def _weighted(rng: np.random.Generator, pool: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.choice(len(pool), n, p=weight / weight.sum())]


def _heavy_tail(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    """Lognormal amounts with 3% of them stretched by a Pareto factor (the big tickets)."""
    amount = rng.lognormal(np.log(median), sigma, n)
    tail = rng.random(n) < 0.03
    amount[tail] *= rng.pareto(1.5, int(tail.sum())) + 1.0
    return np.round(np.maximum(amount, 0.01), 2)


def salaries(rng: np.random.Generator, pop: Population, *, days: int, budget: int) -> Payments:
    """Employers pay each employee a nearly fixed amount every 14 or 30 days (a payday fan-out)."""
    employers = np.flatnonzero(pop.kind != INDIVIDUAL)
    people = np.flatnonzero(pop.kind == INDIVIDUAL)
    if len(employers) == 0 or len(people) == 0 or budget <= 0:
        return Payments.empty()
    employed = people[rng.random(len(people)) < 0.6]
    size = rng.pareto(1.0, len(employers)) + 1.0
    employer_of = rng.choice(len(employers), len(employed), p=size / size.sum())
    period = np.where(rng.random(len(employers)) < 0.4, 14, 30)[employer_of]
    payday = (rng.integers(0, 30, len(employers)))[employer_of] % period
    pays = np.maximum((days - payday + period - 1) // period, 0)
    if pays.sum() > budget:  # keep salaries to their share: fewer employees, same rhythm
        keep = rng.permutation(len(employed))[: max(1, int(len(employed) * budget / pays.sum()))]
        keep.sort()
        employed, employer_of, period, payday, pays = (
            employed[keep],
            employer_of[keep],
            period[keep],
            payday[keep],
            pays[keep],
        )
    who = np.repeat(np.arange(len(employed)), pays)
    k = np.arange(len(who)) - np.repeat(np.cumsum(pays) - pays, pays)
    hour = (8 + rng.integers(0, 3, len(employers)))[employer_of]
    base = rng.lognormal(np.log(2_400.0), 0.5, len(employed)) * period / 30
    ts = (payday[who] + k * period[who]) * DAY + hour[who] * 3600
    usd = np.round(base[who] * (1 + rng.normal(0, 0.01, len(who))), 2)
    return Payments(
        ts, employers[employer_of][who], employed[who], usd, np.full(len(who), FMT["ACH"])
    )


def everyday(
    rng: np.random.Generator, pop: Population, n: int, *, days: int, first_weekday: int
) -> Payments:
    """Shopping, peer transfers, business-to-business wires and reinvestments, `n` in all."""
    counts = rng.multinomial(n, [0.42, 0.30, 0.20, 0.08])
    people = np.flatnonzero(pop.kind == INDIVIDUAL)
    merchants = np.flatnonzero(pop.kind == MERCHANT)
    firms = np.flatnonzero(pop.kind != INDIVIDUAL)
    if len(merchants) == 0:
        merchants = firms if len(firms) else np.arange(pop.size)
    if len(people) == 0:
        people = np.arange(pop.size)
    if len(firms) == 0:
        firms = np.arange(pop.size)
    parts: list[Payments] = []
    # Shopping: Zipf-popular merchants collect from many customers.
    m = counts[0]
    popularity = 1.0 / np.arange(1, len(merchants) + 1) ** 1.1
    src = _weighted(rng, people, pop.activity[people], m)
    dst = _weighted(rng, rng.permutation(merchants), popularity, m)
    ts = spread_times(
        rng, m, days=days, hours=PERSONAL_HOURS, weekend=1.3, first_weekday=first_weekday
    )
    fmt = _formats(rng, m, {"Credit Card": 0.7, "ACH": 0.15, "Cash": 0.1, "Cheque": 0.05})
    parts.append(Payments(ts, src, dst, _heavy_tail(rng, 45.0, 1.0, m), fmt))
    # Peer transfers inside small circles of contacts.
    m = counts[1]
    contacts = rng.integers(0, pop.size, (pop.size, 6))
    src = _weighted(rng, people, pop.activity[people], m)
    dst = contacts[src, rng.integers(0, 6, m)]
    ts = spread_times(
        rng, m, days=days, hours=PERSONAL_HOURS, weekend=0.9, first_weekday=first_weekday
    )
    fmt = _formats(
        rng,
        m,
        {
            "ACH": 0.4,
            "Cash": 0.2,
            "Cheque": 0.15,
            "Wire": 0.12,
            "Credit Card": 0.1,
            "Bitcoin": 0.03,
        },
    )
    parts.append(Payments(ts, src, dst, _heavy_tail(rng, 150.0, 1.1, m), fmt))
    # Business to business: suppliers, office hours, large heavy-tailed amounts.
    m = counts[2]
    suppliers = firms[rng.integers(0, len(firms), (pop.size, 5))]
    src = _weighted(rng, firms, pop.activity[firms], m)
    dst = suppliers[src, rng.integers(0, 5, m)]
    ts = spread_times(
        rng, m, days=days, hours=OFFICE_HOURS, weekend=0.1, first_weekday=first_weekday
    )
    fmt = _formats(rng, m, {"Wire": 0.35, "ACH": 0.4, "Cheque": 0.25})
    parts.append(Payments(ts, src, dst, _heavy_tail(rng, 3_000.0, 1.2, m), fmt))
    # Reinvestment: an account paying itself (AMLworld has these).
    m = counts[3]
    src = _weighted(rng, np.arange(pop.size), pop.activity, m)
    ts = spread_times(
        rng, m, days=days, hours=PERSONAL_HOURS, weekend=1.0, first_weekday=first_weekday
    )
    parts.append(
        Payments(
            ts, src, src.copy(), _heavy_tail(rng, 500.0, 1.2, m), np.full(m, FMT["Reinvestment"])
        )
    )
    out = Payments.concat(parts)
    # A peer or supplier draw may hit the payer itself; move it to the next account.
    clash = (out.src == out.dst) & (out.fmt != FMT["Reinvestment"])
    out.dst[clash] = (out.dst[clash] + 1) % pop.size
    return out
