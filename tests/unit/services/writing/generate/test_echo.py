"""Echoed instructions are dropped from a reply's edges; a text in the style never is."""

from __future__ import annotations

import json
from pathlib import Path

from twincore.services.writing.generate.echo import is_echo, strip_echo
from twincore.services.writing.generate.run import clean_reply
from twincore.services.writing.registry import get_style, load_styles

LABELLED = Path(__file__).parents[5] / "services/writing/data/labelled_drafts.jsonl"
# The opening the 0.5B swift core wrote for a sonnet on "first snow on an empty playground".
SONNET_ECHO = (
    "No title, no explanation, no quotation marks. The text should be written,,,\n"
    "and should be in Shakespearean sonnet style. The first snow on an\n"
    "empty playground is a beautiful scene, a scene that\n"
    "has been painted by a painter."
)


def test_the_observed_sonnet_echo_is_dropped_and_its_poem_kept() -> None:
    sonnet = get_style("sonnet")
    assert strip_echo(SONNET_ECHO, sonnet) == (
        "The first snow on an\nempty playground is a beautiful scene, a scene that\n"
        "has been painted by a painter."
    )
    # After the echo, a label naming the style is not part of the poem either.
    labelled = "No title, no explanation. Thesonnet:\nThe snow is a sight,\na sight."
    assert clean_reply(labelled, sonnet) == "The snow is a sight,\na sight."


def test_repeated_rules_and_a_chinese_echo_are_dropped() -> None:
    limerick = get_style("limerick")
    assert strip_echo("- five lines\n- rhyme AABBA\nA cat\nsat", limerick) == "A cat\nsat"
    wujue = get_style("wujue")
    poem = "雪落无声中，\n空地一片空。"  # noqa: RUF001
    assert strip_echo(f"只输出诗的四行，每行一句。\n{poem}", wujue) == poem  # noqa: RUF001
    assert is_echo("Output only the five lines.", limerick)


def test_no_exemplar_or_labelled_draft_loses_a_word() -> None:
    for style in load_styles().values():
        for exemplar in style.exemplars:
            assert strip_echo(exemplar, style) == exemplar.strip(), style.id
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        draft = json.loads(line)
        assert strip_echo(draft["text"], get_style(draft["style"])) == draft["text"].strip()
    letter = get_style("business_letter")
    assert strip_echo("Dear Ms. Chen:\nI write to confirm.", letter).startswith("Dear Ms. Chen:")
