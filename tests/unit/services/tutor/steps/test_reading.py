"""Reading typed problems and steps: a plain sentence for everything that cannot be read (a
marked position, a word problem sent to the wrong place), never Python's or SymPy's message;
and the parser runs no code that is not maths."""

from __future__ import annotations

import pytest

from twincore.platform.errors import Invalid
from twincore.services.tutor.steps.parsing import StepParseError, parse_step
from twincore.services.tutor.steps.reading import read_problem, read_steps


@pytest.mark.parametrize(
    "question",
    [
        "Tom has 3 apples and buys 4. How many apples does he have?",
        "Natalia sold clips to 48 of her friends in April. How many clips did she sell?",
        "John's 5 cats each eat 2 cans a day: how many cans in a week?",
    ],
)
def test_a_word_problem_is_told_where_word_problems_go(question: str) -> None:
    with pytest.raises(Invalid, match="looks like a word problem") as caught:
        read_problem(question)
    assert "/v1/tutor/word" in caught.value.message and caught.value.param == "problem"


def test_unreadable_maths_names_the_position_without_python_s_location() -> None:
    with pytest.raises(Invalid) as caught:
        read_problem("3x + = 22")
    assert (
        caught.value.message
        == "cannot read '3x + = 22' at position 6: 3x + ⟨=⟩ 22 (invalid syntax)"
    )
    with pytest.raises(Invalid, match="step 2: cannot read 'x = \\(2' at position 5"):
        read_steps(["3x = 6", "x = (2"])
    with pytest.raises(Invalid, match="exactly one variable"):
        read_problem("x + y = 2")
    with pytest.raises(Invalid, match="exponents above 99"):
        read_problem("x^123 = 1")


@pytest.mark.parametrize(
    "text", ['__import__("os").getpid()', "x = (1).__class__", "open('/etc/passwd')", "x.func"]
)
def test_the_parser_refuses_code(text: str) -> None:
    with pytest.raises(StepParseError, match="not maths"):
        parse_step(text)


def test_python_builtins_are_plain_symbols_and_maths_functions_still_work() -> None:
    assert str(parse_step("open(x)")) == "e*n*o*p*x"  # letters, not the builtin
    assert str(parse_step("abs(x - 1) = 2")) == "Eq(Abs(x - 1), 2)"
    assert parse_step("sqrt(x) + diff(x^2, x)") == parse_step("2x + sqrt(x)")
