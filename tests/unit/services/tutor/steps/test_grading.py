"""Grading an attempt (first wrong step, finished answer) and the position named for
unreadable maths."""

from __future__ import annotations

import pytest

from twincore.platform.errors import Invalid
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.steps.checker import Verdict
from twincore.services.tutor.steps.grading import grade
from twincore.services.tutor.steps.positions import describe, locate


@pytest.mark.parametrize(
    ("problem", "steps", "correct", "wrong"),
    [
        ("3x + 7 = 22", ["3x = 15", "x = 5"], True, None),
        ("3x + 7 = 22", ["3x = 15"], False, None),  # right so far, not finished
        ("3x + 7 = 22", ["3x = 29", "x = 29/3"], False, (0, Verdict.NOT_EQUIVALENT)),
        ("sqrt(x) = -1", ["x = 1"], False, (0, Verdict.EXTRANEOUS_ROOT)),
        ("x^2 - 5x + 6 = 0", ["(x - 2)(x - 3) = 0", "x = 2 or x = 3"], True, None),
        ("x^2 - 5x + 6 = 0", ["(x - 2)(x - 3) = 0", "x = 2"], False, (1, Verdict.LOST_SOLUTION)),
        ("expand (x + 1)*(x - 2)", ["x^2 - x - 2"], True, None),
        ("expand (x + 1)*(x - 2)", ["(x + 1)(x - 2)"], False, None),  # equivalent, not expanded
        ("expand (x+1)^2", ["x^2 + 2x + 1"], True, None),
        ("d/dx (x*sin(x))", ["sin(x) + x cos(x)"], True, None),
        ("lim x->2 (x^2 + 3x - 10)/(x - 2)", ["lim x->2 (x + 5)", "7"], True, None),
        ("lim x->2 (x^2 + 3x - 10)/(x - 2)", ["lim x->2 (x + 5)", "6"], False, (1, None)),
        ("integrate 2x + 1 from 0 to 2", ["(4 + 2) - 0", "6"], True, None),
        ("-2x + 1 < 5", ["-2x < 4", "x > -2"], True, None),
        ("-2x + 1 < 5", ["-2x < 4", "x < -2"], False, (1, None)),
    ],
)
def test_grading_finds_the_first_wrong_step_and_a_finished_answer(
    problem: str, steps: list[str], correct: bool, wrong: tuple[int, Verdict | None] | None
) -> None:
    graded = grade(problem, steps, solve(problem))
    assert graded.correct is correct
    if wrong is None:
        assert graded.first_wrong is None
    else:
        assert graded.first_wrong is not None and graded.first_wrong.index == wrong[0]
        assert wrong[1] is None or graded.first_wrong.verdict is wrong[1]


def test_an_empty_attempt_is_refused() -> None:
    with pytest.raises(Invalid, match="at least one step"):
        grade("3x + 7 = 22", [], solve("3x + 7 = 22"))


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("3x + = 22", 5),  # the `=` where a term was expected
        ("3x + 7 = 22)", 11),  # a closing bracket nothing opened
        ("sqrt(x = 2", 4),  # the bracket never closed
        ("x @ 2 = 1", 2),  # a character no step contains
        ("2x + 3 = 4*", 11),  # ran off the end
        ("d/dx (x^2 + )", 12),
        ("integrate x^2 + * 3 from 0 to 1", 16),
        ("3x + 7 = 22", None),
        ("x = 2 or x = -3", None),
        ("lim x->2 (x^2-4)/(x-2)", None),
        ("2x + y = 5, x - y = 1", None),
        ("no real solution", None),
    ],
)
def test_unreadable_maths_is_located(text: str, position: int | None) -> None:
    assert locate(text) == position


def test_the_description_marks_the_position() -> None:
    message = describe("3x + = 22", "invalid syntax")
    assert message == "cannot read '3x + = 22' at position 6: 3x + ⟨=⟩ 22 (invalid syntax)"
    assert describe("3x + 7 = 22", "why") == "why"
