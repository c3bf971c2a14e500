"""The constraint kinds a style file may use; each returns why it failed (empty = passed)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from twincore.services.writing.checkers import chinese, english

Rule = Callable[[str, list[str], dict[str, Any]], list[str]]


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.strip().splitlines() if ln.strip()]


def line_count(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    n = int(p["n"])
    return [] if len(lines) == n else [f"has {len(lines)} lines, needs {n}"]


def han_per_line(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    n = int(p["n"])
    return [
        f"line {i} has {len(chinese.han_chars(ln))} characters, needs {n}"
        for i, ln in enumerate(lines, 1)
        if len(chinese.han_chars(ln)) != n
    ]


def han_rhyme(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    wanted = [int(i) for i in p["lines"]]
    if max(wanted) > len(lines):
        return [f"no line {max(wanted)} to rhyme"]
    ends = [chinese.han_chars(lines[i - 1])[-1:] for i in wanted]
    if any(not e for e in ends):
        return ["a rhyme line has no Chinese character"]
    groups = [chinese.rhyme_group(e[0]) for e in ends]
    if len(set(groups)) == 1:
        return []
    detail = ", ".join(
        f"line {i} ends {e[0]} ({g})" for i, e, g in zip(wanted, ends, groups, strict=True)
    )
    return [f"lines {'/'.join(map(str, wanted))} do not rhyme: {detail}"]


def syllables_per_line(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    counts = [int(c) for c in p["counts"]]
    tol = int(p.get("tolerance", 0))
    reasons = []
    for i, (ln, want) in enumerate(zip(lines, counts, strict=False), 1):
        got = english.line_syllables(ln)
        if abs(got - want) > tol:
            reasons.append(f"line {i} has {got} syllables, needs {want}")
    if len(lines) < len(counts):
        reasons.append(f"has {len(lines)} lines, needs {len(counts)}")
    return reasons


def syllable_range(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    lo, hi = int(p["min"]), int(p["max"])
    reasons = []
    for i, ln in enumerate(lines, 1):
        got = english.line_syllables(ln)
        if not lo <= got <= hi:
            reasons.append(f"line {i} has {got} syllables, needs {lo}-{hi}")
    return reasons


def rhyme_scheme(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    scheme = str(p["scheme"]).replace(" ", "")
    if len(lines) != len(scheme):
        return [f"rhyme scheme {scheme} needs {len(scheme)} lines, has {len(lines)}"]
    last = [(english.words(ln) or [""])[-1] for ln in lines]
    reasons = []
    for letter in dict.fromkeys(scheme):
        idx = [i for i, s in enumerate(scheme) if s == letter]
        for a, b in itertools.pairwise(idx):
            if not english.rhymes(last[a], last[b]):
                reasons.append(
                    f"lines {a + 1} and {b + 1} ({last[a]}/{last[b]}) should rhyme ({letter})"
                )
    return reasons


def markers(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    terms = [str(t) for t in p["terms"]]
    need = int(p.get("min", 1))
    where = str(p.get("where", "any"))
    if where == "start":
        haystack = " ".join(lines[:2])
    elif where == "end":
        haystack = " ".join(lines[-3:])  # closing, name and title
    else:
        haystack = text
    flags = 0 if p.get("case_sensitive") else re.IGNORECASE
    # Occurrences, not distinct terms: "I ... I ... me" is three first-person markers.
    found = sum(len(re.findall(_term_pattern(t), haystack, flags)) for t in terms)
    if found >= need:
        return []
    place = {"start": " at the start", "end": " at the end"}.get(where, "")
    return [
        f"{p.get('label', 'markers')}: found {found} of {need}{place} (e.g. {', '.join(terms[:4])})"
    ]


def _term_pattern(term: str) -> str:
    # Whole words for Latin terms; Chinese has no word boundaries.
    escaped = re.escape(term)
    return rf"\b{escaped}\b" if term[:1].isascii() and term[:1].isalnum() else escaped


def word_count(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    n = len(english.words(text))
    lo, hi = int(p.get("min", 0)), int(p.get("max", 10**9))
    return [] if lo <= n <= hi else [f"has {n} words, needs {lo}-{hi}"]


def han_count(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    n = len(chinese.han_chars(text))
    lo, hi = int(p.get("min", 0)), int(p.get("max", 10**9))
    return [] if lo <= n <= hi else [f"has {n} Chinese characters, needs {lo}-{hi}"]


def line_pattern(text: str, lines: list[str], p: dict[str, Any]) -> list[str]:
    pattern = re.compile(str(p["pattern"]))
    need = int(p.get("min", 1))
    got = sum(1 for ln in lines if pattern.search(ln))
    return (
        []
        if got >= need
        else [f"{p.get('label', 'lines matching')}: {got} lines, needs at least {need}"]
    )


RULES: dict[str, Rule] = {
    "line_count": line_count,
    "han_per_line": han_per_line,
    "han_rhyme": han_rhyme,
    "syllables_per_line": syllables_per_line,
    "syllable_range": syllable_range,
    "rhyme_scheme": rhyme_scheme,
    "markers": markers,
    "word_count": word_count,
    "han_count": han_count,
    "line_pattern": line_pattern,
}

split_lines = _lines
