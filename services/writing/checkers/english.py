"""English pronunciation: syllable counts and rhyme keys from the CMU dictionary (`pronouncing`),
with a spelling fallback for words it does not know.

The one counting module of the service: the checkers, the repair turn's line analysis and the
form grammars (`services/writing/forms.py`) all count words and syllables here, so a draft is
generated and judged by the same rules. `WORD_PATTERN` is what a word is for all of them.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pronouncing  # type: ignore[import-untyped]  # ships no type hints

WORD_PATTERN = r"[A-Za-z']+"
"""A word: letters and apostrophes (don't, o'er); an apostrophe-only run is no word."""
_WORD = re.compile(WORD_PATTERN)
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def words(line: str) -> list[str]:
    """The words of a line, lower-cased, apostrophes kept inside (don't, o'er)."""
    return [w.lower().strip("'") for w in _WORD.findall(line) if w.strip("'")]


@lru_cache(maxsize=65536)
def phones(word: str) -> tuple[str, ...] | None:
    """CMUdict's first pronunciation of a lower-cased word as phones (`HH AH0 L OW1` ->
    ("HH", "AH0", "L", "OW1")), None when the dictionary does not know it."""
    found = pronouncing.phones_for_word(word)
    if not found:
        return None
    # pronouncing keeps the file's trailing comments on a few entries ("... G # place, danish").
    return tuple(found[0].split("#", 1)[0].split())


def heuristic_syllables(word: str) -> int:
    """Vowel groups, minus a silent final -e (but not -le), at least one."""
    count = len(_VOWEL_GROUP.findall(word))
    if word.endswith("e") and not word.endswith("le") and count > 1:
        count -= 1
    return max(count, 1)


def word_syllables(word: str) -> int:
    """Syllables of one word: vowels of its CMUdict pronunciation, else the heuristic; at least
    one, since every word takes a beat (CMUdict gives "hmm" and "shh" no vowel)."""
    known = phones(word)
    if known is None:
        return heuristic_syllables(word)
    return max(1, sum(1 for ph in known if ph[-1].isdigit()))


def line_syllables(line: str) -> int:
    """Syllables of a line, summed over its words."""
    return sum(word_syllables(w) for w in words(line))


def rhyme_key(word: str) -> str:
    """Phonemes from the last stressed vowel on, stress digits dropped; spelling if unknown."""
    known = phones(word)
    if not known:
        groups = list(_VOWEL_GROUP.finditer(word))
        return "~" + (word[groups[-1].start() :] if groups else word)
    vowels = [i for i, ph in enumerate(known) if ph[-1].isdigit()]
    stressed = [i for i in vowels if known[i][-1] in "12"]
    last = (stressed or vowels or [0])[-1]
    return " ".join(ph.rstrip("012") for ph in known[last:])


def rhymes(a: str, b: str) -> bool:
    """Whether two words share a rhyme key (a word does not rhyme with itself)."""
    if a == b:
        return False
    return rhyme_key(a) == rhyme_key(b)
