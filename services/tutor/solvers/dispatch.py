"""Detect a problem's type and solve it with the matching step-by-step solver."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import (
    UnsupportedProblemError,
    WorkedStep,
    first_step,
    verified,
    widened,
)
from twincore.services.tutor.solvers.derivative import solve_derivative
from twincore.services.tutor.solvers.fraction import solve_fraction
from twincore.services.tutor.solvers.inequality import solve_inequality
from twincore.services.tutor.solvers.integral import solve_integral
from twincore.services.tutor.solvers.limit import solve_limit
from twincore.services.tutor.solvers.linear import solve_linear
from twincore.services.tutor.solvers.polynomial import solve_polynomial
from twincore.services.tutor.solvers.quadratic import solve_quadratic
from twincore.services.tutor.solvers.radical import solve_radical
from twincore.services.tutor.solvers.system import solve_system
from twincore.services.tutor.steps.parsing import StepParseError, parse_step

KINDS = (
    "linear",
    "inequality",
    "quadratic",
    "system",
    "polynomial",
    "fraction",
    "derivative",
    "integral",
    "limit",
    "radical",
)


@dataclass(frozen=True)
class Solution:
    """A worked solution: the detected kind and its steps (each verified)."""

    kind: str
    steps: tuple[WorkedStep, ...]

    @property
    def all_verified(self) -> bool:
        return all(step.verified for step in self.steps)

    @property
    def answer(self) -> str:
        return self.steps[-1].text()


def _linear(problem: str) -> list[WorkedStep]:
    return [WorkedStep(s.equation, s.reason, s.verified) for s in solve_linear(problem)]


def _radical(problem: str) -> list[WorkedStep]:
    raw, _ = solve_radical(problem)
    problem_eq = raw[0].equation
    (var,) = problem_eq.free_symbols
    steps = [first_step(problem_eq)]
    steps.append(widened(problem_eq, raw[1].equation, var, raw[1].reason))
    # The closing step is checked against the original equation: extraneous roots are gone.
    steps.append(verified(problem_eq, raw[2].equation, raw[2].reason))
    return steps


def detect(problem: str) -> str:
    """The problem's kind (one of KINDS), or UnsupportedProblemError."""
    text = problem.strip()
    lowered = text.lower()
    if re.match(r"(expand|factor|simplify)\b", lowered):
        return "polynomial"
    if re.match(r"(d/d[a-z]|derivative|differentiate)", lowered):
        return "derivative"
    if re.match(r"(integrate|integral|∫)", lowered):
        return "integral"
    if re.match(r"(lim|limit)\s", lowered):
        return "limit"
    if text.count("=") - text.count("<=") - text.count(">=") >= 2 and re.search(
        r"[;,]|\band\b", text
    ):
        return "system"
    if re.fullmatch(r"\s*-?\d+\s*/\s*\d+\s*[-+*/\u00d7\u00f7]\s*-?\d+\s*/\s*\d+\s*", text):
        return "fraction"
    try:
        step = parse_step(text)
    except StepParseError as exc:
        raise UnsupportedProblemError(str(exc)) from exc
    if isinstance(step, sympy.core.relational.Relational) and not isinstance(step, sympy.Eq):
        return "inequality"
    if not isinstance(step, sympy.Eq):
        raise UnsupportedProblemError(
            f"{problem!r}: say what to do (expand, factor, simplify, d/dx, integrate, lim)"
        )
    if step.has(sympy.sqrt(sympy.Wild("u"))) or any(
        isinstance(p, sympy.Pow) and p.exp == sympy.Rational(1, 2)
        for p in sympy.preorder_traversal(step)
    ):
        return "radical"
    variables = sorted(step.free_symbols, key=str)
    if len(variables) != 1:
        raise UnsupportedProblemError(f"{problem!r} must have exactly one variable")
    try:
        degree = sympy.Poly(sympy.expand(step.lhs - step.rhs), variables[0]).degree()
    except sympy.PolynomialError as exc:
        raise UnsupportedProblemError(f"{problem!r} is not a polynomial equation") from exc
    if degree == 1:
        return "linear"
    if degree == 2:
        return "quadratic"
    raise UnsupportedProblemError(f"{problem!r}: degree {degree} equations are not supported")


_SOLVERS = {
    "linear": _linear,
    "inequality": solve_inequality,
    "quadratic": solve_quadratic,
    "system": solve_system,
    "polynomial": solve_polynomial,
    "fraction": solve_fraction,
    "derivative": solve_derivative,
    "integral": solve_integral,
    "limit": solve_limit,
    "radical": _radical,
}


def solve(problem: str) -> Solution:
    """Detect the type of `problem` and return its verified worked solution."""
    kind = detect(problem)
    return Solution(kind, tuple(_SOLVERS[kind](problem)))
