"""Echoed instructions: the prompt's rules repeated at the edges of a reply, dropped.

Small models often begin a text by repeating what they were told (the 0.5B swift core's sonnet
began "No title, no explanation, no quotation marks. The text should be written, and should be
in Shakespearean sonnet style."), and the form grammar then counts those words as lines of the
poem. A sentence is an echo when it is a piece of the instructions word for word, or when
nearly all its content words come from the instructions (never from the exemplars: a text may
borrow an exemplar's words). Only sentences at the start and the end of a reply are judged, so
a text that mentions its subject in the instructions' words mid-way keeps them; a bullet line
repeating one of the style's rules is dropped wherever it stands.
"""

from __future__ import annotations

import re
from functools import lru_cache

from twincore.platform.router.escalation import REPAIR_INSTRUCTION
from twincore.services.writing.registry import Style

# What the model is told besides the style's own fields (prompts.py and the repair turn).
_FIXED = (
    "You are a skilled writer. Write in this style. How to write it. The text must meet every "
    "one of these rules. Examples of the style. Answer with the text only: no title, no "
    "explanation, no quotation marks. Write a text in this style about. Rewrite the following "
    "text in this style. Keep its content: the same people, facts and events. Write the whole "
    "text again so that it meets every rule. Your lines, as the checker counted them. Topic. "
    "Write the style on this topic now. " + REPAIR_INSTRUCTION
)
_WORD = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Words that carry no content: they neither make a sentence an echo nor save it from being one.
_STOP = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it",
     "its", "of", "on", "or", "so", "that", "the", "this", "to", "was", "were", "with",
     "should", "must", "will", "can", "may", "not", "no", "your", "you")
)  # fmt: skip
_ENDS = ".!?\u3002\uff01\uff1f"  # and the Chinese full stop, exclamation and question marks
_CLOSERS = "\"')\u201d\u2019"  # quotes or a bracket closing a sentence
_SENTENCE = re.compile(f"[^{_ENDS}]*[{_ENDS}]+[{_CLOSERS}]*\\s*|[^{_ENDS}]+$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*(.+?)\s*$")
_MIN_WORDS = 3
_MAX_FRESH = 1 / 3
"""An echo has at most this share of content words that the instructions do not hold."""
_MIN_QUOTED = 10
"""Letters (or Chinese characters, times two) a sentence needs to count as quoted verbatim."""


def _letters(text: str) -> str:
    return "".join(_WORD.findall(text.lower())) + "".join(_HAN.findall(text))


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _instructions(style: Style) -> tuple[str, frozenset[str], frozenset[str]]:
    """The instructions as letters only, their content words, and the rules normalised."""
    fields = (style.name_en, style.name_zh, style.description, style.instructions)
    return _told(fields, tuple(c.description for c in style.constraints))


@lru_cache(maxsize=32)  # a Style holds dicts (unhashable): cache on its strings
def _told(
    fields: tuple[str, ...], rules: tuple[str, ...]
) -> tuple[str, frozenset[str], frozenset[str]]:
    told = " ".join([_FIXED, *fields, *rules])
    return _letters(told), frozenset(_content_words(told)), frozenset(map(_letters, rules))


def is_echo(sentence: str, style: Style) -> bool:
    """Whether a sentence repeats the style's instructions (word for word, or nearly)."""
    letters, vocabulary, _ = _instructions(style)
    own = _letters(sentence)
    weight = len(own) + len(_HAN.findall(sentence))  # a Chinese character says as much as two
    if weight >= _MIN_QUOTED and own in letters:
        return True
    words = _content_words(sentence)
    if len(words) < _MIN_WORDS:
        return False
    fresh = sum(w not in vocabulary for w in words)
    return fresh / len(words) <= _MAX_FRESH


def strip_echo(text: str, style: Style) -> str:
    """The text without echoed sentences at its start and end and without repeated rules."""
    _, _, rules = _instructions(style)
    lines = []
    for line in text.splitlines():
        bullet = _BULLET.match(line)
        if bullet and _letters(bullet.group(1)) in rules:
            continue
        lines.append(line)
    sentences = _SENTENCE.findall("\n".join(lines))
    while sentences and (not sentences[0].strip() or is_echo(sentences[0], style)):
        sentences.pop(0)
    while sentences and (not sentences[-1].strip() or is_echo(sentences[-1], style)):
        sentences.pop()
    lines = "".join(sentences).strip().splitlines()
    if lines and _is_heading(lines[0], style):
        lines = lines[1:]
    return "\n".join(lines).strip()


def _is_heading(line: str, style: Style) -> bool:
    """A first line like "The sonnet:" (a label for the text, not part of it); a salutation
    ("Dear Ms. Chen:") names no style and stays."""
    if not line.rstrip().endswith((":", "\uff1a")) or len(line.split()) > 4:
        return False
    own = _letters(line)
    names = [w for w in _content_words(f"{style.name_en} text poem") if len(w) > 3]
    return any(name in own for name in names) or (bool(style.name_zh) and style.name_zh in line)
