"""Solve `sqrt(f(x)) = g(x)`: square (flagged), solve, drop extraneous roots."""

from __future__ import annotations

from dataclasses import dataclass

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import alternatives
from twincore.services.tutor.steps.parsing import Step, parse_step


class NotRadicalError(ValueError):
    """The problem is not `sqrt(f(x)) = g(x)` in one variable."""


@dataclass(frozen=True)
class RadicalStep:
    """One step; `domain_change` marks squaring, which may add roots checked at the end."""

    equation: Step
    reason: str
    domain_change: bool


def solve_radical(problem: str) -> tuple[list[RadicalStep], sympy.FiniteSet]:
    """Worked steps and the real solutions, extraneous roots of the squared equation removed."""
    equation = parse_step(problem)
    if not isinstance(equation, sympy.Eq) or len(equation.free_symbols) != 1:
        raise NotRadicalError(f"{problem!r} is not a one-variable equation")
    (var,) = equation.free_symbols
    lhs, rhs = equation.lhs, equation.rhs
    if not (isinstance(lhs, sympy.Pow) and lhs.exp == sympy.Rational(1, 2)):
        lhs, rhs = rhs, lhs
    if not (isinstance(lhs, sympy.Pow) and lhs.exp == sympy.Rational(1, 2)):
        raise NotRadicalError(f"{problem!r} must have a square root alone on one side")
    steps = [RadicalStep(sympy.Eq(lhs, rhs, evaluate=False), "the problem", False)]
    squared = sympy.Eq(lhs.base, sympy.expand(rhs**2), evaluate=False)
    steps.append(RadicalStep(squared, "square both sides (this can add roots)", True))
    candidates = sympy.solveset(squared.lhs - squared.rhs, var, domain=sympy.S.Reals)
    if not isinstance(candidates, sympy.FiniteSet):
        raise NotRadicalError(f"{problem!r}: the squared equation has no finite solution set")
    # Squaring loses the sign of the right-hand side: keep only roots of the original equation.
    kept = [c for c in candidates if sympy.simplify(lhs.subs(var, c) - rhs.subs(var, c)) == 0]
    dropped = sympy.FiniteSet(*candidates) - sympy.FiniteSet(*kept)
    reason = "check each root in the original equation"
    if dropped:
        reason += f"; {dropped} is extraneous"
    solutions = sympy.FiniteSet(*kept)
    if not kept:
        reason += ": no root survives, so there is no real solution"
    steps.append(
        RadicalStep(alternatives(var, sorted(kept, key=sympy.default_sort_key)), reason, False)
    )
    return steps, solutions
