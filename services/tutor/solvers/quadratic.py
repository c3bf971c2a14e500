"""Solve a quadratic equation: standard form, then factor over the rationals or use the formula."""

from __future__ import annotations

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    alternatives,
    first_step,
    single_variable,
    verified,
)
from twincore.services.tutor.steps.parsing import parse_step


def solve_quadratic(problem: str) -> list[WorkedStep]:
    """Worked steps for `a x^2 + b x + c = d`, every step checked against the previous."""
    equation = parse_step(problem)
    if not isinstance(equation, sympy.Eq):
        raise UnsupportedProblemError(f"{problem!r} is not an equation")
    var = single_variable(equation, problem)
    expanded = sympy.expand(equation.lhs - equation.rhs)
    poly = sympy.Poly(expanded, var)
    if poly.degree() != 2:
        raise UnsupportedProblemError(f"{problem!r} is not quadratic in {var}")
    a, b, c = poly.all_coeffs()
    steps = [first_step(equation)]
    standard = sympy.Eq(expanded, 0, evaluate=False)
    if equation.rhs != 0 or sympy.expand(equation.lhs) != equation.lhs:
        steps.append(verified(equation, standard, "move every term to the left: standard form"))
    discriminant = sympy.nsimplify(b**2 - 4 * a * c)
    roots = sorted(sympy.solveset(expanded, var, domain=sympy.S.Reals), key=sympy.default_sort_key)
    if discriminant >= 0 and sympy.sqrt(discriminant).is_rational:
        factored = sympy.factor(expanded)
        steps.append(verified(standard, sympy.Eq(factored, 0, evaluate=False), "factor"))
        reason = "a product is zero when one of its factors is zero"
    elif discriminant < 0:
        steps.append(
            verified(
                standard,
                sympy.false,
                f"the discriminant b^2 - 4ac = {discriminant} is negative: no real solution",
            )
        )
        return steps
    else:
        reason = (
            f"quadratic formula x = (-b ± sqrt(b^2 - 4ac)) / (2a) with a = {a}, b = {b}, "
            f"c = {c}; the discriminant is {discriminant}"
        )
    steps.append(verified(steps[-1].math, alternatives(var, roots), reason))
    return steps
