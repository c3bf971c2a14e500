"""Checker tests: exemplars pass their own style only; planted violations fail with the reason."""

# ruff: noqa: RUF001  (full-width Chinese punctuation in the verse is intended)

from __future__ import annotations

import pytest

from twincore.services.writing.checkers import check_text
from twincore.services.writing.checkers.chinese import rhyme_group
from twincore.services.writing.checkers.english import heuristic_syllables, line_syllables, rhymes
from twincore.services.writing.registry import get_style, load_styles

STYLES = load_styles()
EXEMPLARS = [(s.id, i, e) for s in STYLES.values() for i, e in enumerate(s.exemplars)]


def test_exactly_twelve_styles_in_both_languages() -> None:
    assert len(STYLES) == 12
    assert {s.language for s in STYLES.values()} == {"zh", "en"}


@pytest.mark.parametrize(("style_id", "index", "text"), EXEMPLARS)
def test_exemplar_passes_its_style_and_fails_most_others(
    style_id: str, index: int, text: str
) -> None:
    own = check_text(STYLES[style_id], text)
    assert own.passed, own.reasons
    assert own.score == 1.0
    also = [o.id for o in STYLES.values() if o.id != style_id and check_text(o, text).passed]
    assert len(also) <= 2, also


def test_three_line_jueju_fails_on_line_count() -> None:
    text = "山高云自白，\n水远月同明。\n独坐听松语，"
    report = check_text(get_style("wujue"), text)
    assert not report.passed
    assert any("has 3 lines, needs 4" in r for r in report.reasons)
    assert any("no line 4 to rhyme" in r for r in report.reasons)


def test_jueju_with_unrhymed_fourth_line_names_both_finals() -> None:
    text = "山高云自白，\n水远月同明。\n独坐听松语，\n清风送晚秋。"
    report = check_text(get_style("wujue"), text)
    assert report.score == pytest.approx(2 / 3, abs=1e-3)
    assert any("line 4 ends 秋 (尤)" in r and "line 2 ends 明 (庚)" in r for r in report.reasons)


def test_jueju_line_with_six_characters_is_named() -> None:
    text = "山高云自白了，\n水远月同明。\n独坐听松语，\n清风送晚晴。"
    reasons = check_text(get_style("wujue"), text).reasons
    assert any("line 1 has 6 characters, needs 5" in r for r in reasons)


def test_haiku_with_six_syllables_in_line_one() -> None:
    text = "An ancient stone lantern\nholds a puddle of spring rain\na frog wakes inside"
    report = check_text(get_style("haiku"), text)
    assert not report.passed
    assert "5-7-5 syllables: line 1 has 6 syllables, needs 5" in report.reasons


def test_sonnet_with_broken_couplet() -> None:
    lines = get_style("sonnet").exemplars[0].splitlines()
    lines[-1] = "beneath the same unhurried open field."
    report = check_text(get_style("sonnet"), "\n".join(lines))
    assert not report.passed
    assert any("lines 13 and 14 (i/field) should rhyme (G)" in r for r in report.reasons)
    assert sum("should rhyme" in r for r in report.reasons) == 1


def test_limerick_with_four_lines_fails_scheme_and_count() -> None:
    text = "\n".join(get_style("limerick").exemplars[0].splitlines()[:4])
    reasons = check_text(get_style("limerick"), text).reasons
    assert any("has 4 lines, needs 5" in r for r in reasons)


def test_letter_without_closing_and_empty_text() -> None:
    style = get_style("business_letter")
    body = "\n".join(style.exemplars[0].splitlines()[:-2])
    assert any("closing" in r for r in check_text(style, body).reasons)
    empty = check_text(style, "   ")
    assert empty.score == 0.0 and not empty.passed


def test_pronunciation_helpers() -> None:
    assert line_syllables("holds a puddle of spring rain") == 7
    assert heuristic_syllables("glorbate") == 2  # silent final -e
    assert rhymes("art", "heart") and not rhymes("art", "art") and not rhymes("sky", "field")
    assert rhyme_group("明") == rhyme_group("晴") == "庚"
    assert rhyme_group("诗") == "支" and rhyme_group("期") == "齐"
