"""Solve a linear inequality in one variable as verified steps (collect, divide, flip if < 0)."""

from __future__ import annotations

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    first_step,
    single_variable,
    verified,
)
from twincore.services.tutor.steps.parsing import parse_step

_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def solve_inequality(problem: str) -> list[WorkedStep]:
    """Worked steps for `a x + b < c x + d` (any of <, <=, >, >=)."""
    relation = parse_step(problem)
    if not isinstance(relation, sympy.core.relational.Relational) or relation.rel_op not in _FLIP:
        raise UnsupportedProblemError(f"{problem!r} is not an inequality")
    var = single_variable(relation, problem)
    poly = sympy.Poly(sympy.expand(relation.lhs - relation.rhs), var)
    if poly.degree() != 1:
        raise UnsupportedProblemError(f"{problem!r} is not linear in {var}")
    a, b = poly.all_coeffs()
    op = relation.rel_op
    steps = [first_step(relation)]
    collected = sympy.Rel(a * var, -b, op, evaluate=False)
    steps.append(verified(relation, collected, f"collect the {var} terms left, constants right"))
    if a == 1:
        return steps
    final_op = op if a > 0 else _FLIP[op]
    answer = sympy.Rel(var, -b / a, final_op, evaluate=False)
    reason = f"divide both sides by {a}"
    if a < 0:
        # Dividing by a negative number reverses the order: the classic slip this step shows.
        reason += " (negative, so the inequality sign flips)"
    steps.append(verified(collected, answer, reason))
    return steps
