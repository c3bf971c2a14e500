"""Numeric answers of word problems: normalising what a program or a reply printed, and voting.

A word problem's answer is one number. What comes back is text: `$1,234.50`, `72 clips`,
`23.999999999996` (float error), `7/2` (a SymPy rational), `50%`. `normalise_number` turns it
into one canonical string, so equal answers compare (and vote) equal: commas between digit
groups, currency signs, units and percent signs are dropped, fractions are evaluated exactly,
and a value within `INTEGER_TOLERANCE` of an integer becomes that integer. Other values keep
at most `DECIMALS` decimals.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

INTEGER_TOLERANCE = 1e-6
DECIMALS = 4
MAX_DIGITS = 30
"""Longer digit strings are not an answer (and would make Fraction slow)."""

_GROUPED = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-\u2212])?\s*(?P<int>\d+)(?:\.(?P<frac>\d+))?(?:\s*/\s*(?P<den>\d+))?"
    r"|(?<![\w.])(?P<sign2>[-\u2212])?\.(?P<frac2>\d+)"
)


def parse_number(text: str) -> Fraction | None:
    """The first number in `text` as an exact fraction, or None when there is none.

    `a/b` is one number (a SymPy `Rational` prints so); a number glued to letters
    (`x2`, `3rd` stays 3 but `v2` is skipped) is not read from inside a word.
    """
    cleaned = _GROUPED.sub("", text.replace("$", " ").replace("\u00a0", " "))
    match = _NUMBER.search(cleaned)
    if match is None:
        return None
    negative = bool(match.group("sign") or match.group("sign2"))
    whole = match.group("int") or "0"
    decimals = match.group("frac") or match.group("frac2") or ""
    if len(whole) + len(decimals) > MAX_DIGITS:
        return None
    try:
        value = Fraction(Decimal(f"{whole}.{decimals}" if decimals else whole))
    except (InvalidOperation, ValueError):
        return None
    denominator = match.group("den")
    if denominator is not None:
        if int(denominator) == 0 or len(denominator) > MAX_DIGITS:
            return None
        value /= int(denominator)
    return -value if negative else value


def canonical(value: Fraction) -> str:
    """`24`, `-3`, `0.3333`: integers when within the tolerance, else rounded decimals."""
    nearest = round(value)
    if abs(value - nearest) <= INTEGER_TOLERANCE * max(1, abs(nearest)):
        return str(nearest)
    text = f"{float(value):.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normalise_number(text: str) -> str | None:
    """The canonical form of the first number in `text` (`"$1,234.00"` -> `"1234"`)."""
    value = parse_number(text)
    return None if value is None else canonical(value)


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two answers are the same number after normalisation (None is never equal)."""
    if a is None or b is None:
        return False
    left, right = normalise_number(a), normalise_number(b)
    return left is not None and left == right


@dataclass(frozen=True)
class Vote:
    """The winning answer (None when no candidate produced one) and each answer's count."""

    answer: str | None
    counts: dict[str, int]

    @property
    def agreement(self) -> float:
        """The winner's share of the candidates that produced an answer."""
        total = sum(self.counts.values())
        return self.counts[self.answer] / total if self.answer is not None and total else 0.0


def vote(answers: Sequence[str | None]) -> Vote:
    """Majority of the normalised answers; a tie goes to the answer seen first (the greedy
    candidate comes first), candidates without an answer do not vote."""
    normalised = [normalise_number(a) for a in answers if a is not None]
    valid = [a for a in normalised if a is not None]
    if not valid:
        return Vote(None, {})
    counts = Counter(valid)
    best = max(counts.values())
    winner = next(a for a in valid if counts[a] == best)
    return Vote(winner, dict(counts))
