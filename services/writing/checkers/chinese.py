"""Chinese pronunciation: pinyin finals grouped into the 14 rhyme groups of 中华新韵 (2005)."""

from __future__ import annotations

import re

from pypinyin import Style, pinyin

_HAN = re.compile(r"[\u4e00-\u9fff]")
_RETROFLEX_OR_DENTAL = ("zh", "ch", "sh", "r", "z", "c", "s")

# 中华新韵 groups finals into 14 rhymes; 支 (-i after zh/ch/sh/r/z/c/s) is told
# apart from 齐 by the initial.
_GROUPS: dict[str, str] = {}
for _group, _finals in {
    "麻": "a ia ua",
    "波": "o e uo",
    "皆": "ie ve",
    "开": "ai uai",
    "微": "ei uei ui",
    "豪": "ao iao",
    "尤": "ou iou iu",
    "寒": "an ian uan van",
    "文": "en in uen un vn",
    "唐": "ang iang uang",
    "庚": "eng ing ong iong ueng",
    "齐": "i er v",
    "姑": "u",
}.items():
    for _final in _finals.split():
        _GROUPS[_final] = _group


def han_chars(line: str) -> list[str]:
    """The Chinese characters of a line, punctuation and spaces dropped."""
    return _HAN.findall(line)


def rhyme_group(char: str) -> str:
    """The 中华新韵 group of one character's (first) reading, e.g. 鸟 -> 豪."""
    final = pinyin(char, style=Style.FINALS, strict=True)[0][0]
    initial = pinyin(char, style=Style.INITIALS, strict=True)[0][0]
    if final == "i" and initial in _RETROFLEX_OR_DENTAL:
        return "支"
    return _GROUPS.get(final, final or "?")
