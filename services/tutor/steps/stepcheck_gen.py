"""Write data/step_checks.jsonl: solver solutions, correct and with one planted error each.

The errors are planted by construction (a changed constant, an unflipped sign, a dropped or
kept root, a wrong expansion), so each label comes from how the item was made, never from the
checker. Run `python -m twincore.services.tutor.steps.stepcheck_gen` to regenerate (seeded).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import sympy  # type: ignore[import-untyped]

from twincore.services.tutor.solvers.base import render
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.solvers.suite import generate, x
from twincore.services.tutor.steps.stepcheck import STEP_CHECKS

SEED = 2026


def _item(problem: str, steps: list[str], index: int | None, kind: str | None) -> dict[str, Any]:
    return {"problem": problem, "steps": steps, "wrong_index": index, "wrong_kind": kind}


def _planted(
    kind: str, problem: str, steps: list[str], rng: random.Random
) -> dict[str, Any] | None:
    solution = solve(problem)
    maths = [s.math for s in solution.steps[1:]]
    last = maths[-1]
    if (
        kind == "linear"
        and isinstance(last, sympy.Eq)
        and last.rhs.is_integer
        and abs(last.rhs) >= 2
    ):
        # Off by one on the final division: an arithmetic slip (same method, close value).
        slipped = render(sympy.Eq(x, last.rhs + rng.choice([-1, 1]), evaluate=False))
        return _item(problem, [*steps[:-1], slipped], len(steps) - 1, "arithmetic_slip")
    if kind == "linear" and isinstance(maths[0], sympy.Eq) and maths[0].rhs != 0:
        # Moving a constant across without changing its sign: the value changes a lot.
        wrong = sympy.Eq(maths[0].lhs, -maths[0].rhs - 7, evaluate=False)
        return _item(problem, [render(wrong)], 0, "not_equivalent")
    if kind == "inequality" and "flips" in solution.steps[-1].reason:
        rel = last
        unflipped = sympy.Rel(
            rel.lhs, rel.rhs, {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[rel.rel_op]
        )
        return _item(
            problem,
            [*steps[:-1], f"{unflipped.lhs} {unflipped.rel_op} {unflipped.rhs}"],
            len(steps) - 1,
            "not_equivalent",
        )
    if kind == "quadratic" and isinstance(last, sympy.Or):
        kept = render(last.args[rng.randrange(2)])
        return _item(problem, [*steps[:-1], kept], len(steps) - 1, "lost_solution")
    if kind == "radical" and "extraneous" in solution.steps[-1].reason:
        squared = maths[0]
        roots = sorted(
            sympy.solveset(squared.lhs - squared.rhs, x, sympy.S.Reals), key=sympy.default_sort_key
        )
        every = " or ".join(f"x = {r}" for r in roots)
        return _item(problem, [steps[0], every], 1, "extraneous_root")
    if kind == "polynomial" and problem.startswith("expand"):
        wrong = sympy.expand(last + x)
        return _item(problem.removeprefix("expand "), [str(wrong)], 0, "not_equivalent")
    if kind == "derivative" and len(maths) >= 2:
        wrong = sympy.expand(maths[-1] + rng.choice([1, x, -2 * x]))
        derivative = sympy.Derivative(solve(problem).steps[0].math.expr, x)
        return _item(str(derivative), [str(wrong)], 0, "not_equivalent")
    return None


def build(seed: int = SEED) -> Iterator[dict[str, Any]]:
    """Correct and planted-wrong items from a seeded sample of the symbolic suite."""
    rng = random.Random(seed)  # noqa: S311 - seeded problems, not security
    for problem in generate(seed, per_kind=14):
        if problem.kind in ("system", "fraction", "integral", "limit"):
            continue
        solution = solve(problem.text)
        steps = [s.text() for s in solution.steps[1:]]
        if problem.kind in ("linear", "inequality", "quadratic", "radical"):
            yield _item(problem.text, steps, None, None)
        planted = _planted(problem.kind, problem.text, steps, rng)
        if planted is not None:
            yield planted
    # The acceptance cases, written by hand.
    yield _item("sqrt(x) = -1", ["x = 1"], 0, "extraneous_root")
    yield _item("(x+1)^2", ["x^2+2x+1"], None, None)
    yield _item("3x + 7 = 22", ["3x = 15", "x = 5"], None, None)
    yield _item("3x + 7 = 22", ["3x = 15", "x = 4"], 1, "arithmetic_slip")


def main() -> None:
    """Regenerate the shipped file."""
    STEP_CHECKS.parent.mkdir(exist_ok=True)
    lines = [json.dumps(item, ensure_ascii=False) for item in build()]
    STEP_CHECKS.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
