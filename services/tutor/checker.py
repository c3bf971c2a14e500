"""Check a student's steps: find the first wrong step and say why (solution sets over the reals)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.parsing import Step, StepParseError, parse_step


class Verdict(StrEnum):
    """Why a step is (not) accepted."""

    OK = "ok"
    NOT_EQUIVALENT = "not_equivalent"
    LOST_SOLUTION = "lost_solution"
    EXTRANEOUS_ROOT = "extraneous_root"
    ARITHMETIC_SLIP = "arithmetic_slip"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class StepResult:
    """The verdict on one step, with a short human-readable reason."""

    index: int
    text: str
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class CheckReport:
    """All step verdicts up to and including the first wrong one."""

    steps: tuple[StepResult, ...]

    @property
    def first_wrong(self) -> StepResult | None:
        return next((s for s in self.steps if s.verdict is not Verdict.OK), None)


def _symbols(*steps: Step) -> list[sympy.Symbol]:
    found: set[sympy.Symbol] = set()
    for step in steps:
        found |= {s for s in step.free_symbols if isinstance(s, sympy.Symbol)}
    return sorted(found, key=lambda s: s.name)


def solution_set(step: Step, var: sympy.Symbol) -> sympy.Set:
    """The real solution set of an equation/inequality in `var`."""
    if isinstance(step, sympy.Eq):
        return sympy.solveset(step.lhs - step.rhs, var, domain=sympy.S.Reals)
    if isinstance(step, sympy.core.relational.Relational):
        return sympy.solveset(step, var, domain=sympy.S.Reals)
    raise TypeError("an expression has no solution set")


def _near_miss(expected: sympy.Set, got: sympy.Set) -> bool:
    """One wrong value close to the right one reads as an arithmetic slip, not a method error."""
    if not (isinstance(expected, sympy.FiniteSet) and isinstance(got, sympy.FiniteSet)):
        return False
    if len(expected) != len(got) or not expected.is_disjoint(got):
        return False
    diffs = []
    for a, b in zip(
        sorted(expected, key=sympy.default_sort_key),
        sorted(got, key=sympy.default_sort_key),
        strict=True,
    ):
        if not (a.is_real and b.is_real):
            return False
        diffs.append(abs(float(a) - float(b)) / max(1.0, abs(float(a))))
    return max(diffs) <= 0.5


def compare(previous: Step, current: Step) -> tuple[Verdict, str]:
    """Compare one step with the one before it."""
    prev_rel = isinstance(previous, sympy.core.relational.Relational)
    cur_rel = isinstance(current, sympy.core.relational.Relational)
    if prev_rel != cur_rel:
        return Verdict.NOT_EQUIVALENT, "an equation became an expression (or the other way round)"
    if not cur_rel:
        difference = sympy.simplify(sympy.expand(previous - current))
        if difference == 0:
            return Verdict.OK, "equivalent expression"
        return Verdict.NOT_EQUIVALENT, f"differs from the previous expression by {difference}"
    variables = _symbols(previous, current)
    if len(variables) != 1:
        return (
            Verdict.UNREADABLE,
            "only single-variable equations and inequalities are checked step by step",
        )
    var = variables[0]
    before, after = solution_set(previous, var), solution_set(current, var)
    if before == after or sympy.Complement(before, after) == sympy.S.EmptySet == sympy.Complement(
        after, before
    ):
        return Verdict.OK, "same solutions"
    if before.is_subset(after):
        gained = sympy.Complement(after, before)
        return (
            Verdict.EXTRANEOUS_ROOT,
            f"this step gained {gained}, which does not solve the previous step",
        )
    if after.is_subset(before):
        lost = sympy.Complement(before, after)
        return Verdict.LOST_SOLUTION, f"this step lost the solution(s) {lost}"
    if _near_miss(before, after):
        return (
            Verdict.ARITHMETIC_SLIP,
            f"close, but the solution should be {before}, not {after}: check the arithmetic",
        )
    return Verdict.NOT_EQUIVALENT, f"the solutions changed from {before} to {after}"


def check_steps(problem: str, steps: list[str]) -> CheckReport:
    """Check each step against the one before (the first against the problem) to the first wrong."""
    try:
        previous = parse_step(problem)
    except StepParseError as exc:
        raise ValueError(f"problem: {exc}") from exc
    results: list[StepResult] = []
    for index, text in enumerate(steps):
        try:
            current = parse_step(text)
        except StepParseError as exc:
            results.append(StepResult(index, text, Verdict.UNREADABLE, str(exc)))
            break
        verdict, reason = compare(previous, current)
        results.append(StepResult(index, text, verdict, reason))
        if verdict is not Verdict.OK:
            break
        previous = current
    return CheckReport(tuple(results))
