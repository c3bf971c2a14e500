"""Unit tests for the tutor's step parser, step checker, linear solver and hints."""

from __future__ import annotations

import pytest
import sympy  # type: ignore[import-untyped]

from twincore.platform.errors import Invalid
from twincore.services.tutor.solvers.linear import NotLinearError, solve_linear
from twincore.services.tutor.solvers.radical import solve_radical
from twincore.services.tutor.steps.checker import Verdict, check_steps
from twincore.services.tutor.steps.hints import hint
from twincore.services.tutor.steps.parsing import StepParseError, latex_to_plain, parse_step

x = sympy.Symbol("x")


def test_plain_text_implicit_multiplication_and_caret() -> None:
    assert parse_step("3x^2 + 7 = 22") == sympy.Eq(3 * x**2 + 7, 22)


def test_latex_subset_is_converted() -> None:
    assert latex_to_plain(r"\frac{x}{2}") == "((x)/(2))"
    assert parse_step(r"$\sqrt{x} \cdot 2 = \left(4\right)$") == sympy.Eq(2 * sympy.sqrt(x), 4)


def test_unreadable_step_is_a_clear_error() -> None:
    with pytest.raises(StepParseError):
        parse_step("3x + = ")


def test_squaring_sqrt_minus_one_is_an_extraneous_root() -> None:
    wrong = check_steps("sqrt(x) = -1", ["x = 1"]).first_wrong
    assert wrong is not None and wrong.verdict is Verdict.EXTRANEOUS_ROOT


def test_equivalent_expression_forms_are_accepted() -> None:
    assert check_steps("(x+1)^2", ["x^2+2x+1"]).first_wrong is None
    wrong = check_steps("(x+1)^2", ["x^2+1"]).first_wrong
    assert wrong is not None and wrong.verdict is Verdict.NOT_EQUIVALENT


@pytest.mark.parametrize(
    ("problem", "steps", "index", "verdict"),
    [
        ("3x + 7 = 22", ["3x = 15", "x = 5"], None, Verdict.OK),
        ("3x + 7 = 22", ["3x = 15", "x = 4"], 1, Verdict.ARITHMETIC_SLIP),
        ("3x + 7 = 22", ["3x = 29", "x = 5"], 0, Verdict.NOT_EQUIVALENT),
        ("x^2 = 4", ["x = 2"], 0, Verdict.LOST_SOLUTION),
        ("2x + 1 > 5", ["2x > 4", "x > 2"], None, Verdict.OK),
        ("2x + 1 > 5", ["x < 2"], 0, Verdict.NOT_EQUIVALENT),
    ],
)
def test_first_wrong_step(
    problem: str, steps: list[str], index: int | None, verdict: Verdict
) -> None:
    wrong = check_steps(problem, steps).first_wrong
    if index is None:
        assert wrong is None
    else:
        assert wrong is not None and (wrong.index, wrong.verdict) == (index, verdict)


def test_linear_solver_steps_are_verified_and_end_at_the_answer() -> None:
    steps = solve_linear("x/2 - 3 = 2x + 1")
    assert all(s.verified for s in steps)
    assert steps[-1].equation == sympy.Eq(x, sympy.Rational(-8, 3))
    with pytest.raises(NotLinearError):
        solve_linear("x^2 = 4")


def test_hints_are_graded_and_the_last_comes_from_the_solver() -> None:
    levels = [hint("3x + 7 = 22", ["3x = 29"], level) for level in (1, 2, 3)]
    assert len(set(levels)) == 3
    assert "3*x = 15" in levels[2]
    with pytest.raises(Invalid, match="hint level"):
        hint("3x + 7 = 22", [], 4)


def test_radical_solver_flags_squaring_and_drops_extraneous_roots() -> None:
    steps, solutions = solve_radical("sqrt(x + 7) = x + 1")
    assert solutions == sympy.FiniteSet(2)
    assert [s.domain_change for s in steps] == [False, True, False]
    assert "-3" in steps[-1].reason
    _, none = solve_radical("sqrt(x) = -1")
    assert none == sympy.EmptySet
