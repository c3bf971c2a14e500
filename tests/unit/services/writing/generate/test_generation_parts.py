"""The deterministic parts of generation: content similarity, reply cleaning, prompts, tasks."""

from __future__ import annotations

import pytest

from twincore.platform.errors import Invalid
from twincore.platform.router.escalation import Rung
from twincore.services.writing.generate.drafts import WritingTask
from twincore.services.writing.generate.run import clean_reply, first_messages
from twincore.services.writing.generate.similarity import content_similarity
from twincore.services.writing.prompts import repair_turn
from twincore.services.writing.registry import get_style


def test_similarity_is_one_for_the_same_text_and_falls_with_changed_content() -> None:
    source = "The mayor opened the new bridge over the river on Monday."
    assert content_similarity(source, source) == 1.0
    shouted = "  the MAYOR opened   the new bridge over the river on Monday."
    assert content_similarity(source, shouted) == 1.0
    close = content_similarity(source, "On Monday the mayor opened a new bridge across the river.")
    far = content_similarity(source, "Quantum chromodynamics describes gluons binding quarks.")
    assert 0.5 < close < 1.0 and far < 0.2 and far < close
    assert content_similarity(source, "") == 0.0
    assert content_similarity("市长周一为新桥剪彩", "周一市长为新桥剪彩") > 0.3


def test_clean_reply_strips_a_fence_and_blank_lines() -> None:
    assert clean_reply("\n```text\nold pond\nfrog jumps\n```\n") == "old pond\nfrog jumps"
    assert clean_reply("  a line\n\n") == "a line"


def test_prompts_carry_the_style_rules_exemplars_and_the_input() -> None:
    haiku = get_style("haiku")
    messages = first_messages(WritingTask(haiku, "compose", "autumn rain"))
    system = str(messages[0].content)
    assert all(c.description in system for c in haiku.constraints)
    assert haiku.exemplars[0] in system and "autumn rain" in str(messages[1].content)
    rewrite = first_messages(WritingTask(haiku, "rewrite", "The cat slept all day."))
    assert "The cat slept all day." in str(rewrite[1].content)
    repair = Rung("repair", "swift", feedback=("line 2: 6 syllables",), previous="old pond")
    turns = repair_turn(haiku, repair)
    assert [t["role"] for t in turns] == ["assistant", "user"]
    assert turns[0]["content"] == "old pond" and "- line 2: 6 syllables" in turns[1]["content"]
    # Verse: the previous text's lines as the checker counted them, then the format reminder.
    assert '1. old pond - 2 syllables, ends "pond"' in turns[1]["content"]
    assert turns[1]["content"].endswith("Answer with the text only.")
    assert repair_turn(haiku, Rung("other", "deep")) == []


def test_bad_tasks_are_refused() -> None:
    with pytest.raises(Invalid, match="topic is empty"):
        WritingTask(get_style("haiku"), "compose", "  ")
    with pytest.raises(Invalid, match="mode"):
        WritingTask(get_style("haiku"), "translate", "x")  # type: ignore[arg-type]
