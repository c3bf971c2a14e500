"""Friendly reasons: the core rewrites each solver step's short reason for the student, in English
or Chinese, without touching the maths.

The maths shown always comes from the solver: only the reason text is rewritten, and a rewrite is
kept only if `check_rewrite` finds nothing in it that the step did not already say. The original
of a step is its reason plus the rendered maths of the step and of the one before it. A rewrite
is refused (and the solver's reason kept) when it
- is empty, longer than `MAX_CHARS`, or in the wrong language (Chinese must contain CJK
  characters, English none);
- holds a number (digits, or a number word: `three`, `三`) whose value is not a number of the
  original;
- holds a formula (operands joined by `= < > ^ * / + -` and the like) that does not appear
  verbatim (ignoring spaces) in the original, or a maths sign (`√`, `∫`, `≤`, ...) the
  original lacks;
- names a single-letter variable the original does not (English `a`, `A` and `I` are words).
`一` and `两` are not read as numbers: they are the everyday Chinese "a/one" and "both".
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from twincore.platform.errors import Invalid
from twincore.services.tutor.prompts import REWRITE
from twincore.services.tutor.solvers.base import WorkedStep

logger = logging.getLogger(__name__)

Language = Literal["en", "zh"]
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}
MAX_CHARS = 240
MAX_TOKENS = 96
CONCURRENCY = 4

_CJK = re.compile(r"[\u3400-\u9fff]")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_OPERAND = r"[A-Za-z0-9_.()\[\]{}']+"
_FORMULA = re.compile(rf"{_OPERAND}(?:\s*[=<>^*/+\-]\s*{_OPERAND})+")
_HYPHENATED = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+")
_SIGNS = frozenset("√∫≤≥≠×÷∞π^=<>*/+")  # noqa: RUF001 - the maths signs themselves
_LETTER = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
_ENGLISH_WORDS = frozenset("aAI")
_NUMBER_WORDS = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100,
    "thousand": 1000, "twice": 2, "double": 2, "triple": 3, "half": 2, "third": 3,
    "quarter": 4, "square": 2, "cube": 3,
}  # fmt: skip
_CHINESE_NUMERALS = {
    "零": 0, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
    "百": 100, "千": 1000, "万": 10000, "半": 2,
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class FriendlyReason:
    """The reason shown for a step: the core's rewrite, or the solver's reason with why the
    rewrite was refused."""

    text: str
    source: Literal["core", "solver"]
    rejected: str = ""
    core: str | None = None
    """The core that wrote the rewrite (kept or refused)."""
    completion_tokens: int = 0


def _numbers(text: str) -> set[Decimal]:
    values: set[Decimal] = set()
    for token in _DIGITS.findall(text):
        try:
            values.add(Decimal(token).normalize())
        except InvalidOperation:
            continue
    return values


def _number_words(text: str, language: Language) -> set[Decimal]:
    if language == "zh":
        return {Decimal(v) for ch, v in _CHINESE_NUMERALS.items() if ch in text}
    words = {w.lower() for w in _WORD.findall(text)}
    return {Decimal(v) for w, v in _NUMBER_WORDS.items() if w in words}


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check_rewrite(rewrite: str, original: Sequence[str], language: Language) -> str | None:
    """None when `rewrite` adds nothing to `original` (reason and maths); else why not."""
    if not rewrite:
        return "empty"
    if len(rewrite) > MAX_CHARS:
        return f"longer than {MAX_CHARS} characters"
    has_cjk = bool(_CJK.search(rewrite))
    if language == "zh" and not has_cjk:
        return "not in Chinese"
    if language == "en" and has_cjk:
        return "not in English"
    source = " ".join(original)
    allowed = _numbers(source) | _number_words(source, "en") | _number_words(source, "zh")
    for value in sorted(_numbers(rewrite) | _number_words(rewrite, language)):
        if value not in allowed:
            return f"introduces the number {value}"
    squashed = _squash(source)
    for match in _FORMULA.finditer(rewrite):
        formula = match.group(0)
        if _HYPHENATED.fullmatch(formula):
            continue  # `left-hand`, `step-by-step`: words, not a formula
        if _squash(formula) not in squashed:
            return f"introduces the expression {formula!r}"
    for sign in sorted(_SIGNS & set(rewrite)):
        if sign not in source:
            return f"introduces the sign {sign!r}"
    letters = set(_LETTER.findall(source))
    for letter in _LETTER.findall(rewrite):
        if letter not in letters and not (language == "en" and letter in _ENGLISH_WORDS):
            return f"introduces the variable {letter!r}"
    return None


def clean_reply(reply: str) -> str:
    """The first non-empty line, without surrounding quotes or a `Reason:` label."""
    line = next((part.strip() for part in reply.splitlines() if part.strip()), "")
    line = line.strip("\"'“”「」").strip()
    line = re.sub(r"^(?:reason|rewritten|理由|原因)\s*[:：]\s*", "", line, flags=re.IGNORECASE)  # noqa: RUF001
    return line.strip().strip("\"'“”「」").strip()


def _original(steps: Sequence[WorkedStep], index: int) -> tuple[str, str, str]:
    previous = steps[index - 1].text() if index > 0 else "(none: this is the problem)"
    return previous, steps[index].text(), steps[index].reason


async def rewrite_step(
    steps: Sequence[WorkedStep],
    index: int,
    language: Language,
    model: BaseChatModel,
    slots: asyncio.Semaphore,
    options: Mapping[str, Any] | None = None,
) -> FriendlyReason:
    """Step `index`'s reason rewritten by the core (`options`: the call's model, seed, ...),
    or the solver's reason with why the rewrite was refused."""
    previous, current, reason = _original(steps, index)
    messages = REWRITE.format_messages(
        language_name=LANGUAGE_NAMES[language], previous=previous, current=current, reason=reason
    )
    async with slots:
        reply = await model.ainvoke(messages, max_tokens=MAX_TOKENS, **(options or {}))
    text = clean_reply(reply.content if isinstance(reply.content, str) else str(reply.content))
    core = (getattr(reply, "response_metadata", None) or {}).get("core")
    tokens = int((getattr(reply, "usage_metadata", None) or {}).get("output_tokens", 0))
    why = check_rewrite(text, (previous if index > 0 else "", current, reason), language)
    if why is not None:
        logger.info("friendly reason for step %d refused (%s): %r", index, why, text)
        return FriendlyReason(reason, "solver", why, core, tokens)
    return FriendlyReason(text, "core", "", core, tokens)


async def friendly_reasons_detailed(
    steps: Sequence[WorkedStep], language: Language, model: BaseChatModel
) -> list[FriendlyReason]:
    """One `FriendlyReason` per step, in order (a failing core raises what the model raised)."""
    if language not in LANGUAGE_NAMES:
        raise Invalid(f"language must be en or zh, not {language!r}", param="language")
    slots = asyncio.Semaphore(CONCURRENCY)
    return list(
        await asyncio.gather(
            *(rewrite_step(steps, i, language, model, slots) for i in range(len(steps)))
        )
    )


async def friendly_reasons(
    steps: Sequence[WorkedStep], language: Language, model: BaseChatModel
) -> list[str]:
    """The reason to show for each step: the core's friendly rewrite when it passes
    `check_rewrite`, else the solver's own reason. The steps' maths is never changed."""
    return [r.text for r in await friendly_reasons_detailed(steps, language, model)]
