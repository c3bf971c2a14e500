"""Solve a linear equation in one variable as verified steps (collect, then divide)."""

from __future__ import annotations

from dataclasses import dataclass

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.steps.checker import Verdict, compare
from twincore.services.tutor.steps.parsing import parse_step


class NotLinearError(ValueError):
    """The problem is not a linear equation in one variable."""


class UnverifiedStepError(RuntimeError):
    """The solver produced a step that is not equivalent to the previous one (a solver bug)."""


@dataclass(frozen=True)
class SolvedStep:
    """One worked step: the equation and the reason it follows from the previous one."""

    equation: sympy.Eq
    reason: str
    verified: bool


def solve_linear(problem: str) -> list[SolvedStep]:
    """Worked steps for `problem`, each verified against the previous (same real solutions)."""
    equation = parse_step(problem)
    if not isinstance(equation, sympy.Eq):
        raise NotLinearError(f"{problem!r} is not an equation")
    variables = sorted(equation.free_symbols, key=str)
    if len(variables) != 1:
        raise NotLinearError(f"{problem!r} must have exactly one variable")
    var = variables[0]
    if not isinstance(var, sympy.Symbol):
        raise NotLinearError(f"{problem!r} has no plain variable")
    poly = sympy.Poly(sympy.expand(equation.lhs - equation.rhs), var)
    if poly.degree() != 1:
        raise NotLinearError(f"{problem!r} is not linear in {var}")
    a, b = poly.all_coeffs()
    steps: list[SolvedStep] = [
        SolvedStep(sympy.Eq(equation.lhs, equation.rhs, evaluate=False), "the problem", True)
    ]
    collected = sympy.Eq(a * var, -b, evaluate=False)
    steps.append(
        _verified(
            steps[-1].equation,
            collected,
            "collect the x terms on the left and the constants on the right",
        )
    )
    answer = sympy.Eq(var, sympy.nsimplify(-b / a), evaluate=False)
    if a != 1:
        steps.append(_verified(collected, answer, f"divide both sides by {a}"))
    return steps


def _verified(previous: sympy.Eq, current: sympy.Eq, reason: str) -> SolvedStep:
    verdict, why = compare(previous, current)
    if verdict is not Verdict.OK:
        # A solver step that fails verification is a bug in the solver, never something to show.
        raise UnverifiedStepError(f"solver produced an unverified step {current}: {why}")
    return SolvedStep(current, reason, True)
