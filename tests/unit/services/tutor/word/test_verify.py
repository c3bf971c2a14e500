"""The word-problem checker: programs that ran, a strict majority, SymPy's reading of counts."""

from __future__ import annotations

import pytest

from twincore.services.tutor.word.answer import vote
from twincore.services.tutor.word.problems import WordCandidate, WordSolution
from twincore.services.tutor.word.verify import (
    check_solution,
    counted_things,
    given_numbers,
    unused_numbers,
)

APPLES = "Tom has 3 apples and buys 4 more. How many apples does he have now?"


def solution(answers: list[str | None], question: str = APPLES) -> WordSolution:
    """A candidate set as `solve_word_problem` builds it: None is a program that failed."""
    candidates = [
        WordCandidate(
            i,
            "```python\nanswer = ...\n```",
            answer,
            "ok" if answer is not None else "failed",
            "deep",
            program="apples = 3\nbought = 4\nanswer = apples + bought",
            error="" if answer is not None else "NameError: name 'x' is not defined",
        )
        for i, answer in enumerate(answers)
    ]
    result = vote(answers)
    return WordSolution(question, "pal", result.answer, result.counts, candidates, "")


def test_one_program_that_ran_passes_and_says_what_it_rests_on() -> None:
    verdict = check_solution(solution(["7"]))
    assert verdict.passed and verdict.score == 1.0
    assert verdict.reasons == ("1 of 1 candidates' programs computed 7",)


def test_no_program_that_ran_fails_with_the_error() -> None:
    verdict = check_solution(solution([None, None]))
    assert not verdict.passed and verdict.score == 0.0
    assert "no candidate produced a number" in verdict.reasons[0]
    assert "NameError" in verdict.reasons[0]


@pytest.mark.parametrize(
    ("answers", "passed"),
    [
        (["7", "7"], True),
        (["7", None], False),  # a failed program counts against the answer
        (["7", "8"], False),
        (["7", "7", "8"], True),
        (["7", "7", "8", "9"], False),  # two of four is no majority
        (["7", "7", "7", None], True),
    ],
)
def test_a_strict_majority_of_the_candidates_must_agree(
    answers: list[str | None], passed: bool
) -> None:
    verdict = check_solution(solution(answers))
    assert verdict.passed is passed
    if not passed:
        assert verdict.reasons[0].startswith("only ")


def test_a_count_must_be_a_whole_non_negative_number() -> None:
    fraction = check_solution(solution(["12.5"]))
    assert not fraction.passed
    assert fraction.reasons == (
        'the question asks "how many apples" but the answer 12.5 is not a whole number',
    )
    negative = check_solution(solution(["-3"]))
    assert not negative.passed and "is negative" in negative.reasons[0]


def test_measures_may_be_fractions() -> None:
    question = "Omar rides 3 miles and walks 4 miles. How many miles does he travel?"
    assert check_solution(solution(["7.5"], question)).passed
    money = "A pen costs $3 and ink $4. How much do they cost?"
    assert check_solution(solution(["7.5"], money)).passed


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        (APPLES, "how many apples"),
        ("How many more stickers does Ann have than Bo?", "how many more stickers"),
        ("How many hours does it take?", None),
        ("How many ml of juice are left?", None),
        ("How many more dollars does she need?", None),
        ("What is the total cost?", None),
    ],
)
def test_counting_questions_are_told_from_measures(question: str, counted: str | None) -> None:
    assert counted_things(question) == counted


@pytest.mark.parametrize(
    ("code", "unused"),
    [
        ("apples = 3\nbought = 4\nanswer = apples + bought", []),
        ("answer = 4", ["3"]),  # dropped a number the question gives
        ("answer = 3 + 4", []),
    ],
)
def test_a_program_must_use_every_number_the_question_gives(code: str, unused: list[str]) -> None:
    assert unused_numbers(APPLES, code) == unused
    checked = solution(["7"])
    checked.candidates[0].program = code
    verdict = check_solution(checked)
    assert verdict.passed is (not unused)
    if unused:
        assert verdict.reasons == (f"the program never uses {unused[0]} from the question",)


def test_numbers_may_be_written_in_other_forms() -> None:
    question = "A $1,200 bike is 25% off. She pays 3/4 of the rest in 1 week and 2.5 later."
    code = "price = 1_200\ndiscount = .25\nnow = 3 / 4\nweeks = 1\nlater = 2.5\nanswer = 0"
    assert unused_numbers(question, code) == []
    # 0.75 is how 3/4 is written; 25% is not there in any form
    assert unused_numbers(question, "price = 1200\nanswer = price * 0.75") == ["25%", "2.5"]
    assert [text for text, _ in given_numbers("On the 2nd day, v2 of 7 apps ran.")] == ["7"]
