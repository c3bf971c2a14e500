"""GSM8K files (gold after `####`, malformed files refused with the line) and the canonical
form numbers are compared in (commas, units, float error, fractions)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from twincore.platform.evals.gsm8k import gold_answer, load_gsm8k, normalise_number, parse_number


def test_gold_is_the_normalised_number_after_the_last_marker() -> None:
    assert gold_answer("48/2 = <<48/2=24>>24\n#### 72") == "72"
    assert gold_answer("... #### 1,234") == "1234"
    with pytest.raises(ValueError, match="####"):
        gold_answer("72")
    with pytest.raises(ValueError, match="no number"):
        gold_answer("#### none")


def test_rows_keep_their_line_and_optional_index(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    rows = [
        '{"question": "q1", "answer": "#### 1"}',
        "",
        '{"index": 7, "question": "q2", "answer": "#### 2"}',
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    first, second = load_gsm8k(path)
    assert (first.line, first.index, first.gold) == (1, None, "1")
    assert (second.line, second.index, second.gold, second.question) == (3, 7, "2", "q2")
    assert [p.line for p in load_gsm8k(path, limit=1)] == [1]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "line 2"),
        ('{"question": "", "answer": "#### 1"}', "question"),
        ('{"question": "q", "answer": 5}', "answer"),
        ('{"question": "q", "answer": "no marker"}', "####"),
        ('{"question": "q", "answer": "#### 1", "index": "7"}', "index"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_a_malformed_file_is_refused_with_its_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "q", "answer": "#### 1"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as caught:
        load_gsm8k(path)
    assert "bad.jsonl, line 2" in str(caught.value)


def test_missing_and_empty_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no GSM8K file"):
        load_gsm8k(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no problems"):
        load_gsm8k(tmp_path / "empty.jsonl")


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
