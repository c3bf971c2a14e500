"""The prompts of writing generation: compose from a topic, rewrite a text, repair from failures."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

from twincore.platform.router.escalation import Rung, repair_messages
from twincore.services.writing.checkers import chinese, english
from twincore.services.writing.checkers.rules import split_lines
from twincore.services.writing.registry import Style

SYSTEM = (
    "You are a skilled writer. Write in this style: {name}.\n{description}\n\n"
    "How to write it:\n{instructions}\n\n"
    "The text must meet every one of these rules:\n{rules}\n\n"
    "Examples of the style:\n{exemplars}\n\n"
    "Answer with the text only: no title, no explanation, no quotation marks."
)

# The human turn names the style and ends on the task: with "Write a text in this style about:
# {topic}" the 0.5B swift core wrote the haiku and the limerick of our check unmet, and with
# this turn met (the sonnet still opens with the rules repeated: generate/echo.py drops them).
COMPOSE = ChatPromptTemplate.from_messages(
    [("system", SYSTEM), ("human", "Topic: {topic}\nWrite the {name} on this topic now.")]
)

REWRITE = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Rewrite the following text in this style. Keep its content: the same people, "
            "facts and events.\n\n{source}",
        ),
    ]
)

# A repair turn (the escalation ladder's `repair` rung) shows the previous text and every failed
# constraint with the checker's reason, so the model knows what to fix rather than being told
# only that it failed; small models also need the reminder to answer with the text alone.
REPAIR_TAIL = (
    "\n\nWrite the whole text again so that it meets every rule. Answer with the text only."
)


def style_variables(style: Style) -> dict[str, str]:
    """The SYSTEM variables for a style: its names, instructions, rules and exemplars."""
    rules = "\n".join(f"- {c.description}" for c in style.constraints)
    exemplars = "\n\n".join(
        f"Example {i}:\n{text}" for i, text in enumerate(style.exemplars, start=1)
    )
    return {
        "name": style.display_name,
        "description": style.description,
        "instructions": style.instructions,
        "rules": rules,
        "exemplars": exemplars,
    }


# Verse fails on counts the model cannot see itself (syllables, characters, end rhymes), so
# the revise turn also shows each line as the checker counted it.
ANALYSIS = "\n\nYour lines, as the checker counted them:\n{lines}"
_PER_LINE_KINDS = {"han_per_line", "han_rhyme", "syllables_per_line", "syllable_range"}
_MAX_ANALYSED_LINES = 16


def line_analysis(style: Style, text: str) -> str:
    """Each line with its syllables (English) or characters (Chinese) and its end word's
    rhyme, for styles with per-line constraints; "" for prose styles."""
    kinds = {c.kind for c in style.constraints}
    if not kinds & _PER_LINE_KINDS:
        return ""
    rows = []
    for i, line in enumerate(split_lines(text)[:_MAX_ANALYSED_LINES], 1):
        if style.language == "zh":
            chars = chinese.han_chars(line)
            end = f", ends {chars[-1]} ({chinese.rhyme_group(chars[-1])} rhyme)" if chars else ""
            rows.append(f"{i}. {line} - {len(chars)} characters{end}")
        else:
            last = (english.words(line) or [""])[-1]
            rows.append(f'{i}. {line} - {english.line_syllables(line)} syllables, ends "{last}"')
    return "\n".join(rows)


def repair_turn(style: Style, rung: Rung) -> list[dict[str, str]]:
    """The chat turns a `repair` rung appends for writing: the seam's `repair_messages` (the
    previous text, then the checker's reasons) with the line analysis of that text and the
    answer-format reminder added to the user's turn; [] for other rungs."""
    turns = repair_messages(rung)
    if not turns:
        return []
    analysis = line_analysis(style, rung.previous or "")
    extra = ANALYSIS.format(lines=analysis) if analysis else ""
    turns[-1] = {**turns[-1], "content": turns[-1]["content"] + extra + REPAIR_TAIL}
    return turns
