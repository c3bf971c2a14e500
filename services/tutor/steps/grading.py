"""Grade an attempt: the checker's first wrong step, and whether the work reaches an answer.

An attempt is correct when no step is wrong and the last step is a finished answer: for
equations and inequalities the unknown alone on one side of each alternative (`x = 5`,
`x = 2 or x = -3`, `x < 4`, `no real solution`); for expand/factor/simplify the same form as
the solver's answer (SymPy's canonical form of both, so `2(x - 3)` and `2x - 6` match but a
factored answer to an `expand` problem does not); for calculus and fractions an expression with
no derivative, integral or limit left to evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy  # type: ignore[import-untyped]

from twincore.platform.errors import Invalid
from twincore.services.tutor.solvers.calculus_parse import (
    parse_derivative,
    parse_integral,
    parse_limit,
)
from twincore.services.tutor.solvers.dispatch import Solution
from twincore.services.tutor.steps.checker import CheckReport, StepResult, check_steps, is_statement
from twincore.services.tutor.steps.parsing import Step, parse_step


@dataclass(frozen=True)
class Grade:
    report: CheckReport
    complete: bool

    @property
    def first_wrong(self) -> StepResult | None:
        return self.report.first_wrong

    @property
    def correct(self) -> bool:
        return self.first_wrong is None and self.complete


def _solved_form(step: Step) -> bool:
    if step is sympy.false:
        return True
    if isinstance(step, sympy.Or):
        return all(_solved_form(arg) for arg in step.args)
    if isinstance(step, sympy.core.relational.Relational):
        for alone, other in ((step.lhs, step.rhs), (step.rhs, step.lhs)):
            if isinstance(alone, sympy.Symbol) and not other.free_symbols:
                return True
    return False


def finished(last: Step, solution: Solution) -> bool:
    """True when `last` is a finished answer for the problem `solution` solves."""
    if is_statement(last):
        return _solved_form(last)
    if last.has(sympy.Derivative, sympy.Integral, sympy.Limit):
        return False
    if solution.kind == "polynomial":
        return bool(sympy.srepr(last) == sympy.srepr(parse_step(solution.answer)))
    return True


def grade(problem: str, steps: list[str], solution: Solution) -> Grade:
    """Check `steps` against `problem`: `Invalid` for an empty attempt, `ValueError` for a problem
    the checker cannot read."""
    if not steps:
        raise Invalid("an attempt needs at least one step", param="steps")
    report = check_steps(checker_start(problem, solution), checker_steps(steps))
    complete = False
    if report.first_wrong is None:
        complete = finished(parse_step(steps[-1]), solution)
    return Grade(report, complete)


def calculus_form(text: str) -> str | None:
    """`d/dx ...`, `integrate ...` or `lim x->a ...` as the checker reads them, else None
    (the checker cannot read those prefixes, in the problem or in a student's step)."""
    if derivative := parse_derivative(text):
        expression, var = derivative
        return f"Derivative({expression}, {var})"
    if integral := parse_integral(text):
        integrand, var, bounds = integral
        if bounds is None:
            return f"Integral({integrand}, {var})"
        return f"Integral({integrand}, ({var}, {bounds[0]}, {bounds[1]}))"
    if limit := parse_limit(text):
        # SymPy's Limit is one-sided from the right by default; the generated limits have equal
        # one-sided limits, and the value is what a step is compared by.
        expression, var, point = limit
        return f"Limit({expression}, {var}, {point})"
    return None


def checker_start(problem: str, solution: Solution) -> str:
    """The problem as the checker reads it."""
    if solution.kind in ("derivative", "integral", "limit"):
        return calculus_form(problem) or problem
    if solution.kind in ("polynomial", "fraction"):
        return solution.steps[0].text()  # `expand ...` / `3/4 + 1/2` as the solver read them
    return problem


def checker_steps(steps: list[str]) -> list[str]:
    """Students' steps as the checker reads them (`lim x->2 (x + 5)` becomes a Limit)."""
    return [calculus_form(step) or step for step in steps]
