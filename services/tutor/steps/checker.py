"""Check a student's steps: find the first wrong step and say why (solution sets over the reals)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.steps.parsing import Step, StepParseError, parse_step


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


def is_statement(step: Step) -> bool:
    """True for equations, inequalities, `x = a or x = b` and `no real solution` (false)."""
    return isinstance(
        step, (sympy.core.relational.Relational, sympy.Or, sympy.logic.boolalg.BooleanAtom)
    )


def solution_set(step: Step, var: sympy.Symbol) -> sympy.Set:
    """The real solution set of an equation/inequality in `var`."""
    if step is sympy.false:
        return sympy.S.EmptySet
    if step is sympy.true:
        return sympy.S.Reals
    if isinstance(step, sympy.Or):
        return sympy.Union(*(solution_set(arg, var) for arg in step.args))
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
    prev_rel, cur_rel = is_statement(previous), is_statement(current)
    if prev_rel != cur_rel:
        return Verdict.NOT_EQUIVALENT, "an equation became an expression (or the other way round)"
    if not cur_rel:
        if previous.doit() == current.doit():
            # Also covers infinite values (oo - oo is nan, so subtraction cannot show equality).
            return Verdict.OK, "equivalent expression"
        # doit() evaluates unevaluated derivatives, integrals, limits and 3/6-style fractions.
        difference = sympy.simplify(sympy.expand((previous - current).doit()))
        if difference == 0:
            return Verdict.OK, "equivalent expression"
        return Verdict.NOT_EQUIVALENT, f"differs from the previous expression by {difference}"
    variables = _symbols(previous, current)
    if not variables:
        variables = [sympy.Symbol("x")]
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


def _has_root(step: Step) -> bool:
    return any(
        isinstance(node, sympy.Pow) and node.exp == sympy.Rational(1, 2)
        for node in sympy.preorder_traversal(step)
    )


def _is_squaring(previous: Step, current: Step, verdict: Verdict) -> bool:
    """Squaring away a square root: allowed, but it may add roots that must be checked later."""
    return verdict is Verdict.EXTRANEOUS_ROOT and _has_root(previous) and not _has_root(current)


def check_steps(problem: str, steps: list[str]) -> CheckReport:
    """Check each step against the one before (the first against the problem) to the first wrong.

    After a squaring step the work is checked against the last equation before squaring too:
    a later step may drop the extraneous roots, and the final step must not keep any.
    """
    try:
        previous = parse_step(problem)
    except StepParseError as exc:
        raise ValueError(f"problem: {exc}") from exc
    results: list[StepResult] = []
    anchor: Step | None = None
    for index, text in enumerate(steps):
        try:
            current = parse_step(text)
        except StepParseError as exc:
            results.append(StepResult(index, text, Verdict.UNREADABLE, str(exc)))
            break
        verdict, reason = compare(previous, current)
        if anchor is not None and verdict is not Verdict.OK:
            verdict, reason = compare(anchor, current)
        if _is_squaring(previous, current, verdict):
            anchor = previous if anchor is None else anchor
            verdict, reason = Verdict.OK, "squared both sides: this can add roots, check them"
        results.append(StepResult(index, text, verdict, reason))
        if verdict is not Verdict.OK:
            break
        previous = current
    else:
        if anchor is not None and results:
            # The answer must solve the equation as it was before squaring.
            verdict, reason = compare(anchor, previous)
            if verdict is not Verdict.OK:
                last = results[-1]
                results[-1] = StepResult(last.index, last.text, verdict, reason)
    return CheckReport(tuple(results))
