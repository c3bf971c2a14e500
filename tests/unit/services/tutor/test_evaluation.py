"""Unit tests for the tutor's generated symbolic suite and step-check suite evaluations."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from twincore.services.tutor.evaluation import evaluate_symbolic
from twincore.services.tutor.stepcheck import evaluate_step_checks, load_step_checks
from twincore.services.tutor.suite import GENERATORS, PER_KIND, generate


def test_generator_is_seeded_and_covers_every_type() -> None:
    first = [p.text for p in generate(3, per_kind=2)]
    assert first == [p.text for p in generate(3, per_kind=2)]
    assert first != [p.text for p in generate(4, per_kind=2)]
    assert PER_KIND * len(GENERATORS) >= 300  # the default suite, scored by `eval tutor`
    assert {p.kind for p in generate(3, per_kind=1)} == set(GENERATORS)


def test_seeded_sample_is_solved_with_every_step_verified() -> None:
    sample = list(itertools.islice(generate(seed=123), 30))
    report = evaluate_symbolic(sample)
    assert report["symbolic_failures"] == []
    assert report["symbolic_accuracy"] == 1.0


def test_a_wrong_expected_answer_counts_as_a_failure() -> None:
    (problem,) = itertools.islice(generate(seed=5), 1)
    wrong = type(problem)(problem.kind, problem.text, problem.expected.subs("x", "x + 1"))
    assert evaluate_symbolic([wrong])["symbolic_accuracy"] == 0.0


def test_shipped_step_check_suite_meets_the_bar() -> None:
    items = load_step_checks()
    assert len(items) >= 100
    assert {i.wrong_kind for i in items} >= {
        None,
        "not_equivalent",
        "lost_solution",
        "extraneous_root",
        "arithmetic_slip",
    }
    # A sample of every fourth item keeps this fast; `twincore eval tutor` scores them all.
    assert evaluate_step_checks(items[::4])["step_check_accuracy"] >= 0.95


def test_malformed_step_check_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "x = 1"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_step_checks(bad)
