"""Fraction arithmetic (+, -, *, / of two fractions) as verified steps."""

from __future__ import annotations

import re

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    first_step,
    verified,
)

_PROBLEM = re.compile(r"^\s*(-?\d+)\s*/\s*(\d+)\s*([-+*/\u00d7\u00f7])\s*(-?\d+)\s*/\s*(\d+)\s*$")


def _frac(num: int, den: int) -> sympy.Expr:
    """An unreduced fraction such as 3/6, kept as written for display."""
    return sympy.Mul(num, sympy.Pow(den, -1, evaluate=False), evaluate=False)


def solve_fraction(problem: str) -> list[WorkedStep]:
    """`1/2 + 2/3`, `3/4 * 2/9`, `5/6 / 10/3` (two fractions and one operator)."""
    match = _PROBLEM.match(problem.replace("\u00d7", "*").replace("\u00f7", "/ "))
    if match is None:
        raise UnsupportedProblemError(f"{problem!r} is not `a/b op c/d` with whole numbers")
    a, b, op, c, d = match.groups()
    p, q, r, s = int(a), int(b), int(c), int(d)
    if 0 in (q, s) or (op == "/" and r == 0):
        raise UnsupportedProblemError(f"{problem!r} divides by zero")
    left, right = _frac(p, q), _frac(r, s)
    ops = {
        "+": sympy.Add(left, right, evaluate=False),
        "-": sympy.Add(left, sympy.Mul(-1, right, evaluate=False), evaluate=False),
        "*": sympy.Mul(left, right, evaluate=False),
        "/": sympy.Mul(left, sympy.Pow(right, -1, evaluate=False), evaluate=False),
    }
    expression = ops[op]
    steps = [first_step(expression)]
    if op in "+-":
        common = sympy.ilcm(q, s)
        sign = 1 if op == "+" else -1
        rewritten = sympy.Add(
            _frac(p * common // q, common),
            _frac(r * common // s, common)
            if sign == 1
            else sympy.Mul(-1, _frac(r * common // s, common), evaluate=False),
            evaluate=False,
        )
        steps.append(
            verified(expression, rewritten, f"rewrite over the common denominator {common}")
        )
        combined = _frac(p * common // q + sign * r * common // s, common)
        steps.append(verified(rewritten, combined, "add the numerators"))
    else:
        if op == "/":
            flipped = sympy.Mul(left, _frac(s, r), evaluate=False)
            steps.append(verified(expression, flipped, "dividing is multiplying by the reciprocal"))
            r, s = s, r
        combined = _frac(p * r, q * s)
        steps.append(verified(steps[-1].math, combined, "multiply numerators and denominators"))
    reduced = combined.doit()
    if str(reduced) != str(combined):
        steps.append(verified(combined, reduced, "reduce to lowest terms"))
    return steps
