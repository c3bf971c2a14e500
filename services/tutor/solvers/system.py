"""Solve a 2x2 linear system by substitution; each step keeps the same solution pair."""

from __future__ import annotations

import re

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    UnverifiedStepError,
    WorkedStep,
)
from twincore.services.tutor.steps.parsing import parse_step

System = tuple[sympy.Eq, sympy.Eq]


def _solutions(system: System, variables: tuple[sympy.Symbol, sympy.Symbol]) -> sympy.Set:
    return sympy.linsolve([eq.lhs - eq.rhs for eq in system], *variables)


def _step(
    previous: System, current: System, variables: tuple[sympy.Symbol, sympy.Symbol], reason: str
) -> WorkedStep:
    # Two-variable steps are compared as solution sets of the whole system, not equation by
    # equation: substitution rewrites one equation using the other.
    if _solutions(previous, variables) != _solutions(current, variables):
        raise UnverifiedStepError(f"solver produced an unverified system step {current}")
    return WorkedStep(current, reason, True)


def parse_system(problem: str) -> tuple[System, tuple[sympy.Symbol, sympy.Symbol]]:
    """Two equations separated by `,`, `;` or `and`, in exactly two variables."""
    parts = [p for p in re.split(r"[;,]|\band\b", problem) if p.strip()]
    if len(parts) != 2:
        raise UnsupportedProblemError(f"{problem!r} is not two equations")
    equations = tuple(parse_step(p) for p in parts)
    if not all(isinstance(e, sympy.Eq) for e in equations):
        raise UnsupportedProblemError(f"{problem!r} must be two equations")
    found = sorted(equations[0].free_symbols | equations[1].free_symbols, key=str)
    if len(found) != 2:
        raise UnsupportedProblemError(f"{problem!r} must have exactly two variables")
    return (equations[0], equations[1]), (found[0], found[1])


def solve_system(problem: str) -> list[WorkedStep]:
    """Substitution: isolate one variable, substitute, solve, back-substitute."""
    system, (x, y) = parse_system(problem)
    first, second = system
    for eq in system:
        if sympy.Poly(eq.lhs - eq.rhs, x, y).total_degree() != 1:
            raise UnsupportedProblemError(f"{problem!r} is not a linear system")
    solutions = _solutions(system, (x, y))
    # linsolve returns a parametric tuple (with free symbols) for a dependent system.
    unique = isinstance(solutions, sympy.FiniteSet) and len(solutions) == 1
    if not unique or solutions.free_symbols:
        kind = "no solution" if solutions == sympy.S.EmptySet else "infinitely many solutions"
        raise UnsupportedProblemError(f"{problem!r} has {kind}, not one solution pair")
    ((x0, y0),) = solutions
    # Isolate y from the first equation when it appears there, else swap the equations' roles.
    if sympy.Poly(first.lhs - first.rhs, x, y).coeff_monomial(y) == 0:
        first, second = second, first
    steps = [WorkedStep(system, "the problem", True)]
    y_expr = sympy.solve(first.lhs - first.rhs, y)[0]
    isolated: System = (sympy.Eq(y, y_expr, evaluate=False), second)
    steps.append(_step(system, isolated, (x, y), f"solve the first equation for {y}"))
    substituted = sympy.Eq(sympy.expand(second.lhs.subs(y, y_expr)), second.rhs, evaluate=False)
    current: System = (isolated[0], substituted)
    steps.append(_step(isolated, current, (x, y), f"substitute {y} = {y_expr} into the other"))
    solved: System = (isolated[0], sympy.Eq(x, x0, evaluate=False))
    steps.append(_step(current, solved, (x, y), f"solve the one-variable equation for {x}"))
    final: System = (sympy.Eq(x, x0, evaluate=False), sympy.Eq(y, y0, evaluate=False))
    steps.append(_step(solved, final, (x, y), f"put {x} = {x0} back to find {y}"))
    return steps
