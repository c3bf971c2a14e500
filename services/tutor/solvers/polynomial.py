"""Expand, factor or simplify a polynomial or rational expression as verified steps."""

from __future__ import annotations

import re

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    first_step,
    verified,
)
from twincore.services.tutor.steps.parsing import parse_step

_COMMAND = re.compile(r"^\s*(expand|factor|simplify)\s*:?\s*(.+)$", re.IGNORECASE)


def solve_polynomial(problem: str) -> list[WorkedStep]:
    """`expand (x+1)(x-2)`, `factor x^2 - 5x + 6`, `simplify (x^2-1)/(x-1)`."""
    match = _COMMAND.match(problem)
    if match is None:
        raise UnsupportedProblemError(f"{problem!r} must start with expand, factor or simplify")
    command, body = match.group(1).lower(), match.group(2)
    expression = parse_step(body)
    if isinstance(expression, sympy.core.relational.Relational):
        raise UnsupportedProblemError(f"{problem!r}: {command} takes an expression")
    steps = [first_step(expression)]
    if command == "expand":
        distributed = sympy.expand(expression)
        steps.append(verified(expression, distributed, "multiply out and collect like terms"))
    elif command == "factor":
        expanded = sympy.expand(expression)
        if expanded != expression:
            steps.append(verified(expression, expanded, "expand first"))
        factored = sympy.factor(expanded)
        steps.append(verified(expanded, factored, "factor over the rationals"))
    else:
        numerator, denominator = sympy.fraction(sympy.together(expression))
        num_f, den_f = sympy.factor(numerator), sympy.factor(denominator)
        # Kept unevaluated so the common factor is visible before it is cancelled.
        factored = (
            sympy.Mul(num_f, sympy.Pow(den_f, -1, evaluate=False), evaluate=False)
            if den_f != 1
            else num_f
        )
        if factored != expression:
            steps.append(verified(expression, factored, "factor numerator and denominator"))
        cancelled = sympy.cancel(factored)
        reason = "cancel common factors"
        common = sympy.gcd(numerator, denominator)
        if common.free_symbols:
            # Cancelling a factor changes the domain: the original is undefined where it is 0.
            reason += f" (valid where {common} ≠ 0)"
            steps.append(WorkedStep(verified(factored, cancelled, reason).math, reason, True, True))
        else:
            steps.append(verified(factored, cancelled, reason))
    return steps
