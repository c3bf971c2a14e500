"""Comparing word-problem answers after normalisation, and voting on them."""

from __future__ import annotations

from twincore.services.tutor.word.answer import same_number, vote


def test_answers_compare_equal_after_normalisation() -> None:
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
