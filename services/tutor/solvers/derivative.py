"""Differentiate rule by rule: each step rewrites one unevaluated derivative by one rule."""

from __future__ import annotations

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    first_node,
    first_step,
    verified,
)
from twincore.services.tutor.solvers.calculus_parse import parse_derivative

_KNOWN = {
    sympy.sin: (sympy.cos, "the derivative of sin is cos"),
    sympy.cos: (lambda u: -sympy.sin(u), "the derivative of cos is -sin"),
    sympy.exp: (sympy.exp, "the derivative of e^u is e^u"),
    sympy.log: (lambda u: 1 / u, "the derivative of ln u is 1/u"),
}
_MAX_STEPS = 60


def _rule(expr: sympy.Expr, var: sympy.Symbol) -> tuple[sympy.Expr, str]:
    """One rule applied to d/dvar(expr): the rewritten expression and the rule's name."""
    d = sympy.Derivative
    if not expr.has(var):
        return sympy.Integer(0), f"the derivative of a constant ({expr}) is 0"
    if expr == var:
        return sympy.Integer(1), f"d{var}/d{var} = 1"
    if isinstance(expr, sympy.Add):
        return sympy.Add(*(d(t, var) for t in expr.args), evaluate=False), "sum rule"
    if isinstance(expr, sympy.Mul):
        constant, rest = expr.as_independent(var, as_Add=False)
        if constant != 1:
            return sympy.Mul(constant, d(rest, var), evaluate=False), "constant multiple rule"
        first, *others = expr.args
        second = sympy.Mul(*others)
        return (
            sympy.Add(
                sympy.Mul(d(first, var), second, evaluate=False),
                sympy.Mul(first, d(second, var), evaluate=False),
                evaluate=False,
            ),
            "product rule (f g)' = f' g + f g'",
        )
    if isinstance(expr, sympy.Pow):
        base, exponent = expr.args
        if not exponent.has(var):
            outer = sympy.Mul(exponent, sympy.Pow(base, exponent - 1), evaluate=False)
            if base == var:
                return outer, "power rule (x^n)' = n x^(n-1)"
            return sympy.Mul(outer, d(base, var), evaluate=False), "power rule with the chain rule"
        if not base.has(var):
            return (
                sympy.Mul(expr, sympy.log(base), d(exponent, var), evaluate=False),
                "(a^u)' = a^u ln(a) u'",
            )
    if isinstance(expr, sympy.Function) and expr.func in _KNOWN and len(expr.args) == 1:
        outer, name = _KNOWN[expr.func]
        (inner,) = expr.args
        if inner == var:
            return outer(inner), name
        return sympy.Mul(
            outer(inner), d(inner, var), evaluate=False
        ), f"{name}, with the chain rule"
    raise UnsupportedProblemError(f"no step-by-step rule for the derivative of {expr}")


def solve_derivative(problem: str) -> list[WorkedStep]:
    """`d/dx (x^3 + 2x)`, `derivative of sin(x^2)`: one rule per step, then simplify."""
    parsed = parse_derivative(problem)
    if parsed is None:
        raise UnsupportedProblemError(f"{problem!r} is not a derivative problem")
    expression, var = parsed
    current = sympy.Derivative(expression, var)
    steps = [first_step(current)]
    while (target := first_node(current, sympy.Derivative)) is not None:
        if len(steps) > _MAX_STEPS:
            raise UnsupportedProblemError(f"{problem!r} needs too many steps to show")
        rewritten, rule = _rule(target.expr, var)
        following = current.xreplace({target: rewritten})
        steps.append(verified(current, following, rule))
        current = following
    simplified = sympy.simplify(current)
    if str(simplified) != str(current):
        steps.append(verified(current, simplified, "simplify"))
    return steps
