"""Evaluate a limit in steps: substitute, or factor and cancel a 0/0, or L'Hôpital's rule."""

from __future__ import annotations

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    first_step,
    verified,
)
from twincore.services.tutor.solvers.calculus_parse import parse_limit

_MAX_LHOPITAL = 3


def _substituted(expr: sympy.Expr, var: sympy.Symbol, point: sympy.Expr) -> sympy.Expr | None:
    """The value by direct substitution, or None when it is undefined (0/0, ∞/∞, ...)."""
    if point.is_infinite:
        return None
    value = sympy.simplify(expr.subs(var, point))
    if value.has(sympy.nan, sympy.zoo) or not value.is_finite:
        return None
    return value


def solve_limit(problem: str) -> list[WorkedStep]:
    """`lim x->2 (x^2-4)/(x-2)`, `lim x->oo (3x^2+1)/(x^2-5)`, `lim x->0 sin(x)/x`."""
    parsed = parse_limit(problem)
    if parsed is None:
        raise UnsupportedProblemError(f"{problem!r} is not a limit problem")
    expr, var, point = parsed
    # A limit at a finite point is two-sided (SymPy's default is from the right only).
    direction = "+-" if point.is_finite else "-" if point == sympy.oo else "+"
    current = sympy.Limit(expr, var, point, dir=direction)
    steps = [first_step(current)]
    for _ in range(_MAX_LHOPITAL + 1):
        value = _substituted(expr, var, point)
        if value is not None:
            steps.append(verified(current, value, f"substitute {var} = {point}"))
            return steps
        numerator, denominator = sympy.fraction(sympy.together(expr))
        cancelled = sympy.cancel(expr)
        if point.is_finite and cancelled != expr and denominator.has(var):
            # Cancelling is allowed because the limit never looks at x = point itself.
            expr = cancelled
            reason = f"factor and cancel the common factor (fine: {var} ≠ {point} in the limit)"
        elif denominator.has(var):
            num_limit = sympy.limit(numerator, var, point)
            den_limit = sympy.limit(denominator, var, point)
            indeterminate = (num_limit == 0 and den_limit == 0) or (
                num_limit.is_infinite and den_limit.is_infinite
            )
            if not indeterminate:
                break
            expr = sympy.diff(numerator, var) / sympy.diff(denominator, var)
            reason = "L'Hôpital's rule: differentiate numerator and denominator"
        else:
            break
        following = sympy.Limit(expr, var, point, dir=direction)
        steps.append(verified(current, following, reason))
        current = following
    value = sympy.limit(expr, var, point, dir=direction)
    if value.has(sympy.nan, sympy.zoo) or isinstance(value, sympy.AccumBounds):
        raise UnsupportedProblemError(f"{problem!r}: the limit does not exist")
    steps.append(verified(current, value, "evaluate the limit"))
    return steps
