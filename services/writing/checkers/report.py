"""Run a style's constraints over a text: a score in [0, 1] and the reasons each failure gives."""

from __future__ import annotations

from dataclasses import dataclass, field

from twincore.services.writing.checkers.rules import RULES, split_lines
from twincore.services.writing.registry import Style


@dataclass(frozen=True)
class ConstraintResult:
    """One constraint's verdict and, when it failed, where and why."""

    kind: str
    description: str
    passed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckReport:
    """The checker's verdict on a text: score = share of constraints passed."""

    style_id: str
    score: float
    passed: bool
    results: tuple[ConstraintResult, ...] = field(default_factory=tuple)

    @property
    def reasons(self) -> list[str]:
        """Every failure reason, prefixed by the constraint it belongs to."""
        return [f"{r.description}: {why}" for r in self.results for why in r.reasons]


def check_text(style: Style, text: str) -> CheckReport:
    """Check `text` against every constraint of `style`."""
    lines = split_lines(text)
    results = []
    for c in style.constraints:
        rule = RULES.get(c.kind)
        if rule is None:
            raise ValueError(f"style {style.id}: unknown constraint kind {c.kind!r}")
        reasons = rule(text, lines, c.params) if lines else ["the text is empty"]
        results.append(ConstraintResult(c.kind, c.description, not reasons, tuple(reasons)))
    passed = sum(r.passed for r in results)
    score = passed / len(results) if results else 0.0
    return CheckReport(style.id, round(score, 4), passed == len(results), tuple(results))
