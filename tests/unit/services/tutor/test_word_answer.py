"""Normalising word-problem answers (commas, units, float error, fractions) and voting on them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from twincore.services.tutor.word_answer import normalise_number, parse_number, same_number, vote


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72", "72"),
        ("$1,234.00", "1234"),
        ("1,234,567 dollars", "1234567"),
        ("72 clips", "72"),
        ("23.999999999996", "24"),
        ("18.0", "18"),
        ("48.0000000000000", "48"),
        ("7/2", "3.5"),
        ("1/3", "0.3333"),
        ("50%", "50"),
        ("-3", "-3"),
        ("\u22125 degrees", "-5"),
        (".5 hours", "0.5"),
        ("answer is 10.50", "10.5"),
    ],
)
def test_answers_are_normalised_to_one_canonical_string(text: str, expected: str) -> None:
    assert normalise_number(text) == expected


@pytest.mark.parametrize("text", ["", "no number here", "v2 of the plan", "1/0", "9" * 40])
def test_text_without_a_readable_number_has_no_answer(text: str) -> None:
    assert normalise_number(text) is None


def test_parse_is_exact_and_near_integers_are_only_rounded_when_close() -> None:
    assert parse_number("0.1") == Fraction(1, 10)
    assert normalise_number("2.5") == "2.5"
    assert normalise_number("2.0001") == "2.0001"  # not an integer: kept
    assert same_number("$1,000", "1000.0") and not same_number("1000", "1001")
    assert not same_number(None, "1") and not same_number("x", "x")


def test_majority_wins_and_a_tie_goes_to_the_first_candidate() -> None:
    result = vote(["72", "70", "72.0", None, "$72"])
    assert result.answer == "72" and result.counts == {"72": 3, "70": 1}
    assert result.agreement == 0.75
    assert vote(["5", "6", "6", "5"]).answer == "5"
    assert vote(["8", "9"]).answer == "8"


def test_no_answer_votes_nothing() -> None:
    empty = vote([None, "no number"])
    assert empty.answer is None and empty.counts == {} and empty.agreement == 0.0
