"""A seeded generator of symbolic problems across every solver type, with expected answers.

Each expected answer is built from the values the generator chose (roots, solution pairs,
fractions) or computed by SymPy directly, never by the tutor's solvers, so the evaluation
checks the solvers against an independent truth.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.steps.parsing import Step

x, y = sympy.symbols("x y")
DEFAULT_SEED = 11
PER_KIND = 32


@dataclass(frozen=True)
class SuiteProblem:
    """One generated problem: its kind, its text and the expected final answer."""

    kind: str
    text: str
    expected: Step


def _nonzero(rng: random.Random, low: int, high: int) -> int:
    return rng.choice([n for n in range(low, high + 1) if n != 0])


def _eq_text(lhs: sympy.Expr, rhs: sympy.Expr) -> str:
    return f"{lhs} = {rhs}"


def _linear(rng: random.Random) -> SuiteProblem:
    a, c = rng.sample([n for n in range(-9, 10) if n != 0], 2)
    b, d = rng.randint(-20, 20), rng.randint(-20, 20)
    if rng.random() < 0.5:
        c = 0  # half the problems keep x on one side only
    text = _eq_text(a * x + b, c * x + d)
    return SuiteProblem("linear", text, sympy.Eq(x, sympy.Rational(d - b, a - c)))


def _inequality(rng: random.Random) -> SuiteProblem:
    a, c = rng.sample([n for n in range(-9, 10) if n != 0], 2)
    b, d = rng.randint(-20, 20), rng.randint(-20, 20)
    op = rng.choice(["<", "<=", ">", ">="])
    text = f"{a * x + b} {op} {c * x + d}"
    # a x + b op c x + d  <=>  (a - c) x op d - b; the direction flips when a - c < 0.
    flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op] if a - c < 0 else op
    return SuiteProblem("inequality", text, sympy.Rel(x, sympy.Rational(d - b, a - c), flipped))


def _quadratic(rng: random.Random) -> SuiteProblem:
    variant = rng.choice(["factor", "factor", "formula", "none"])
    a = rng.choice([1, 1, 2, 3, -1])
    if variant == "factor":
        r, s = rng.randint(-9, 9), rng.randint(-9, 9)
        poly = sympy.expand(a * (x - r) * (x - s))
        roots = sorted({r, s})
    elif variant == "formula":
        while True:
            b, c = rng.randint(-9, 9), rng.randint(-9, 9)
            disc = b * b - 4 * a * c
            if disc > 0 and not sympy.sqrt(disc).is_rational:
                break
        poly = a * x**2 + b * x + c
        roots = [(-b + sympy.sqrt(disc)) / (2 * a), (-b - sympy.sqrt(disc)) / (2 * a)]
    else:
        b = rng.randint(-4, 4)
        c = (b * b) // (4 * abs(a)) + rng.randint(1, 9)
        poly = abs(a) * x**2 + b * x + c
        roots = []
    shift = rng.randint(-10, 10)
    text = _eq_text(poly + shift, shift) if shift else _eq_text(poly, 0)
    expected: Step = (
        sympy.false
        if not roots
        else sympy.Or(*(sympy.Eq(x, r) for r in roots))
        if len(roots) > 1
        else sympy.Eq(x, roots[0])
    )
    return SuiteProblem("quadratic", text, expected)


def _system(rng: random.Random) -> SuiteProblem:
    while True:
        a, b, c, d = (rng.randint(-6, 6) for _ in range(4))
        if a * d - b * c != 0 and (b != 0 or d != 0):
            break
    x0, y0 = rng.randint(-8, 8), rng.randint(-8, 8)
    first, second = a * x + b * y, c * x + d * y
    text = f"{first} = {first.subs({x: x0, y: y0})}, {second} = {second.subs({x: x0, y: y0})}"
    return SuiteProblem("system", text, (sympy.Eq(x, x0), sympy.Eq(y, y0)))


def _polynomial(rng: random.Random) -> SuiteProblem:
    r, s = rng.randint(-9, 9), rng.randint(-9, 9)
    a = rng.choice([1, 2, 3])
    product = a * (x - r) * (x - s)
    variant = rng.choice(["expand", "factor", "simplify"])
    if variant == "expand":
        text = f"expand ({a * x - a * r})*({x - s})"
        return SuiteProblem("polynomial", text, sympy.expand(product))
    if variant == "factor":
        return SuiteProblem("polynomial", f"factor {sympy.expand(product)}", product)
    text = f"simplify ({sympy.expand(product)})/({x - r})"
    return SuiteProblem("polynomial", text, a * (x - s))


def _fraction(rng: random.Random) -> SuiteProblem:
    p, r = _nonzero(rng, -9, 12), _nonzero(rng, 1, 12)
    q, s = rng.randint(2, 12), rng.randint(2, 12)
    op = rng.choice("+-*/")
    left, right = sympy.Rational(p, q), sympy.Rational(r, s)
    value = {"+": left + right, "-": left - right, "*": left * right, "/": left / right}[op]
    return SuiteProblem("fraction", f"{p}/{q} {op} {r}/{s}", value)


def _poly_expr(rng: random.Random, degree: int) -> sympy.Expr:
    terms = [rng.randint(-9, 9) * x**k for k in range(degree + 1)]
    expression = sympy.Add(*terms)
    return expression if expression.has(x) else expression + x**degree


def _derivative(rng: random.Random) -> SuiteProblem:
    k = _nonzero(rng, -4, 4)
    extras = [
        sympy.Integer(0),
        sympy.sin(k * x),
        sympy.cos(x**2),
        sympy.exp(k * x),
        x * sympy.sin(x),
        x**2 * sympy.exp(x),
        sympy.log(x),
    ]
    expression = _poly_expr(rng, rng.randint(1, 4)) + rng.choice(extras)
    return SuiteProblem("derivative", f"d/dx ({expression})", sympy.diff(expression, x))


def _integral(rng: random.Random) -> SuiteProblem:
    expression = _poly_expr(rng, rng.randint(0, 4))
    if rng.random() < 0.4:
        low, high = sorted(rng.sample(range(-4, 6), 2))
        value = sympy.integrate(expression, (x, low, high))
        return SuiteProblem("integral", f"integrate {expression} from {low} to {high}", value)
    expression += rng.choice([0, sympy.cos(x), sympy.sin(x), sympy.exp(x), 3 / x])
    # Indefinite: any antiderivative is right; the expected one is checked by differentiating.
    return SuiteProblem("integral", f"integrate {expression}", sympy.integrate(expression, x))


def _limit(rng: random.Random) -> SuiteProblem:
    r = _nonzero(rng, -6, 6)
    k = _nonzero(rng, -5, 5)
    variant = rng.choice(["cancel", "substitute", "infinity", "lhopital"])
    if variant == "cancel":
        expression = sympy.expand((x - r) * (x + k)) / (x - r)
        point: sympy.Expr = sympy.Integer(r)
        text = f"lim x->{r} ({sympy.expand((x - r) * (x + k))})/({x - r})"
    elif variant == "substitute":
        expression = _poly_expr(rng, 2)
        point = sympy.Integer(r)
        text = f"lim x->{r} {expression}"
    elif variant == "infinity":
        a, c = _nonzero(rng, -9, 9), _nonzero(rng, 1, 9)
        expression = (a * x**2 + k) / (c * x**2 + 1)
        point = sympy.oo
        text = f"lim x->oo ({a * x**2 + k})/({c * x**2 + 1})"
    else:
        expression = sympy.sin(k * x) / x
        point = sympy.Integer(0)
        text = f"lim x->0 sin({k * x})/x"
    return SuiteProblem("limit", text, sympy.limit(expression, x, point))


def _radical(rng: random.Random) -> SuiteProblem:
    if rng.random() < 0.25:
        a, k = rng.randint(-9, 9), rng.randint(1, 9)
        return SuiteProblem("radical", f"sqrt({x + a}) = {-k}", sympy.false)
    while True:
        r, b = rng.randint(-5, 9), rng.randint(-5, 5)
        if r + b >= 0:
            break
    a = (r + b) ** 2 - r
    # The squared equation x + a = (x + b)^2 may have a second, extraneous root.
    roots = sorted(
        root
        for root in sympy.solveset(x + a - (x + b) ** 2, x, domain=sympy.S.Reals)
        if root + b >= 0
    )
    expected: Step = (
        sympy.Or(*(sympy.Eq(x, v) for v in roots)) if len(roots) > 1 else sympy.Eq(x, roots[0])
    )
    return SuiteProblem("radical", f"sqrt({x + a}) = {x + b}", expected)


GENERATORS: dict[str, Callable[[random.Random], SuiteProblem]] = {
    "linear": _linear,
    "inequality": _inequality,
    "quadratic": _quadratic,
    "system": _system,
    "polynomial": _polynomial,
    "fraction": _fraction,
    "derivative": _derivative,
    "integral": _integral,
    "limit": _limit,
    "radical": _radical,
}


def generate(seed: int = DEFAULT_SEED, per_kind: int = PER_KIND) -> Iterator[SuiteProblem]:
    """`per_kind` problems of each kind (320 by default), the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - seeded problems, not security
    for _ in range(per_kind):
        for make in GENERATORS.values():
            yield make(rng)
