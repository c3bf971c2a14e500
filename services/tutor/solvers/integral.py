"""Integrate polynomials and basic functions rule by rule (sum, constant multiple, table)."""

from __future__ import annotations

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    first_node,
    first_step,
    verified,
)
from twincore.services.tutor.solvers.calculus_parse import parse_integral

_MAX_STEPS = 40


def _rule(expr: sympy.Expr, var: sympy.Symbol) -> tuple[sympy.Expr, str]:
    """One rule applied to ∫ expr d var."""
    integral = sympy.Integral
    if not expr.has(var):
        return expr * var, f"the integral of a constant {expr} is {expr}{var}"
    if isinstance(expr, sympy.Add):
        return sympy.Add(*(integral(t, var) for t in expr.args), evaluate=False), "sum rule"
    constant, rest = expr.as_independent(var, as_Add=False)
    if constant != 1:
        return sympy.Mul(constant, integral(rest, var), evaluate=False), "constant multiple rule"
    if expr == var:
        return var**2 / 2, "power rule ∫x dx = x^2/2"
    if isinstance(expr, sympy.Pow) and expr.base == var and not expr.exp.has(var):
        if expr.exp == -1:
            return sympy.log(var), "∫1/x dx = ln x (for x > 0)"
        n = expr.exp
        return var ** (n + 1) / (n + 1), "power rule ∫x^n dx = x^(n+1)/(n+1)"
    table = {
        sympy.sin(var): (-sympy.cos(var), "∫sin x dx = -cos x"),
        sympy.cos(var): (sympy.sin(var), "∫cos x dx = sin x"),
        sympy.exp(var): (sympy.exp(var), "∫e^x dx = e^x"),
    }
    if expr in table:
        return table[expr]
    raise UnsupportedProblemError(f"no step-by-step rule for the integral of {expr}")


def solve_integral(problem: str) -> list[WorkedStep]:
    """`integrate 3x^2 + 2x`, `integrate x^2 from 0 to 3`; antiderivatives without `+ C`
    are verified (the constant is named in the last reason)."""
    parsed = parse_integral(problem)
    if parsed is None:
        raise UnsupportedProblemError(f"{problem!r} is not an integral problem")
    integrand, var, bounds = parsed
    current: sympy.Expr = sympy.Integral(integrand, var)
    steps = [first_step(current)]
    while (target := first_node(current, sympy.Integral)) is not None:
        if len(steps) > _MAX_STEPS:
            raise UnsupportedProblemError(f"{problem!r} needs too many steps to show")
        rewritten, rule = _rule(target.function, var)
        following = current.xreplace({target: rewritten})
        steps.append(verified(current, following, rule))
        current = following
    antiderivative = sympy.expand(current)
    if str(antiderivative) != str(current):
        steps.append(verified(current, antiderivative, "collect the terms"))
    if bounds is None:
        last = steps[-1]
        steps[-1] = WorkedStep(last.math, f"{last.reason}; add the constant C", last.verified)
        return steps
    low, high = bounds
    definite = sympy.Integral(integrand, (var, low, high))
    evaluated = sympy.Add(
        antiderivative.subs(var, high), -antiderivative.subs(var, low), evaluate=False
    )
    # The definite steps are checked against the definite integral, not the antiderivative.
    steps.append(verified(definite, evaluated, f"F({high}) - F({low}) with F = {antiderivative}"))
    steps.append(verified(evaluated, sympy.nsimplify(evaluated.doit()), "evaluate"))
    return steps
