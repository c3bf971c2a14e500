"""Read calculus problems: `d/dx (...)`, `integrate ... [from a to b]`, `lim x->a ...`."""

from __future__ import annotations

import re

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import UnsupportedProblemError
from twincore.services.tutor.steps.parsing import parse_step

_DERIVATIVE = re.compile(
    r"^\s*(?:d/d([a-z])|(?:derivative|differentiate)(?:\s+of)?)\s*:?\s*(.+?)\s*$", re.I
)
_INTEGRAL = re.compile(
    r"^\s*(?:integrate|integral(?:\s+of)?|∫)\s*:?\s*(.+?)"
    r"(?:\s+d([a-z]))?(?:\s+from\s+(\S+)\s+to\s+(\S+))?\s*$",
    re.I,
)
_LIMIT = re.compile(
    r"^\s*(?:lim|limit)\s+([a-z])\s*(?:->|→|to)\s*(\S+)\s+(?:of\s+)?(.+?)\s*$", re.I
)


def _expression(text: str, problem: str) -> sympy.Expr:
    expression = parse_step(text)
    if isinstance(expression, sympy.Basic) and not isinstance(expression, sympy.Expr):
        raise UnsupportedProblemError(f"{problem!r}: expected an expression")
    return expression


def _variable(expression: sympy.Expr, name: str | None) -> sympy.Symbol:
    if name:
        return sympy.Symbol(name)
    found = sorted(expression.free_symbols, key=str)
    return found[0] if len(found) == 1 else sympy.Symbol("x")


def parse_derivative(problem: str) -> tuple[sympy.Expr, sympy.Symbol] | None:
    """(expression, variable) for a derivative problem, or None if it is not one."""
    match = _DERIVATIVE.match(problem)
    if match is None:
        return None
    expression = _expression(match.group(2), problem)
    return expression, _variable(expression, match.group(1))


def parse_integral(
    problem: str,
) -> tuple[sympy.Expr, sympy.Symbol, tuple[sympy.Expr, sympy.Expr] | None] | None:
    """(integrand, variable, bounds or None) for an integral problem, or None."""
    match = _INTEGRAL.match(problem)
    if match is None:
        return None
    integrand = _expression(match.group(1), problem)
    var = _variable(integrand, match.group(2))
    bounds = None
    if match.group(3) is not None:
        bounds = (_expression(match.group(3), problem), _expression(match.group(4), problem))
    return integrand, var, bounds


def parse_limit(problem: str) -> tuple[sympy.Expr, sympy.Symbol, sympy.Expr] | None:
    """(expression, variable, point) for `lim x->2 (x^2-4)/(x-2)`, or None."""
    match = _LIMIT.match(problem)
    if match is None:
        return None
    point_text = match.group(2).replace("∞", "oo").replace("inf", "oo")
    return (
        _expression(match.group(3), problem),
        sympy.Symbol(match.group(1)),
        _expression(point_text, problem),
    )
