"""Numeric answers of word problems: comparing and voting on what programs or replies printed.

Answers are compared in the canonical form of `twincore.platform.evals.gsm8k.normalise_number`
(the form GSM8K's gold answers are read in): `$1,234.50`, `72 clips` and `23.999999999996`
become `1234.5`, `72` and `24`, so equal answers compare (and vote) equal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from twincore.platform.evals.gsm8k import normalise_number


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
