"""Form grammars: a style's constraints as a Lark grammar (llguidance's dialect) that the engine
holds a draft to, token by token, so the form cannot be broken while the words stay free.

What a grammar guarantees, per constraint kind (`Form.guaranteed` lists a style's):
- `line_count`, `han_per_line`, `han_rhyme`: verse has exactly its lines (no empty line inside a
  stanza; an optional blank line between the stanzas of a `rhyme_scheme` such as the sonnet's
  ABAB CDCD EFEF GG), a Chinese line exactly n characters then its punctuation, and the rhyme
  lines of a 绝句 end in characters of one 中华新韵 group (from `data/rhyme_chars.yaml`, 48
  characters a group that the checker puts in that group); prose with `line_count` has
  exactly that many non-empty lines.
- `word_count`, `han_count`: the whole text's words (as `checkers/english.py` counts them) or
  Chinese characters lie in the range.
- `line_pattern` with the pattern `\\S` (non-empty lines): at least that many lines.
- `markers` with `where: start`: the first line holds one of the terms (whole words for Latin).

What it does not: English syllable counts and end rhymes (`syllables_per_line`,
`syllable_range`, `rhyme_scheme` beyond its line count) depend on which free words the model
picks; a grammar over every dictionary word of every rhyme or syllable class would be huge and
would still refuse unknown words. The grammar bounds words per line by the syllables allowed
(every word takes at least one), and best-of-n with the checker picks among the candidates.
Markers counted anywhere or at the end, and other line patterns, are left to the checker too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from twincore.model_core.engine.constraint import Constraint
from twincore.services.writing.registry import Constraint as StyleConstraint
from twincore.services.writing.registry import Style

HAN = "\u4e00-\u9fff"
"""The CJK characters `chinese.han_chars` counts."""
HAN_LINE_END = "，。；！？、"  # noqa: RUF001
HAN_LAST_END = "。！？"  # noqa: RUF001
WORD = r"[A-Za-z]+('[A-Za-z]+)*"
"""A word the way the checker counts one, with apostrophes only between letters, so no split
or merge of a word can change the count (a quote mark is written with double quotes)."""
NOT_WORD = r"[^A-Za-z']"
VERSE_PUNCT = ',;:.!?"“”()—–-'  # noqa: RUF001
PLAIN = "[^\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029]*"
"""No control characters and no line break but \\n: `str.splitlines` (the checker's lines)
breaks at \\v, \\f, \\x1c-\\x1e, \\x85 and U+2028/9 too, and Python strips \\x1c-\\x1f."""
VERSE_KINDS = {"han_per_line", "han_rhyme", "syllables_per_line", "syllable_range", "rhyme_scheme"}


@dataclass(frozen=True)
class Form:
    """A style's form grammar and which of its constraints (descriptions) the grammar holds."""

    style_id: str
    grammar: str
    guaranteed: tuple[str, ...]

    def constraint(self) -> Constraint:
        """The per-request constraint that carries the grammar to the engine."""
        return Constraint("lark", self.grammar, strict=False)  # a guide: the checker judges


def build_form(style: Style) -> Form | None:
    """The form grammar of `style`; None when none of its constraints is a form (screenplay)."""
    kinds = {c.kind for c in style.constraints}
    grammar: str | None
    if kinds & VERSE_KINDS:
        grammar, kept = _verse(style)
    else:
        grammar, kept = _prose(style)
    if grammar is None:
        return None
    return Form(style.id, grammar, tuple(c.description for c in kept))


def form_constraint(style: Style) -> Constraint | None:
    """The engine constraint of a style's form, None for a style without one."""
    form = build_form(style)
    return form.constraint() if form else None


# --- verse ---------------------------------------------------------------------------------


def _verse(style: Style) -> tuple[str, list[StyleConstraint]]:
    params = {c.kind: c.params for c in style.constraints}
    kept = [c for c in style.constraints if c.kind in {"line_count", "han_per_line", "han_rhyme"}]
    stanzas = _stanzas(params)
    total = sum(stanzas)
    rules: list[str] = []
    if "han_per_line" in params:
        n = int(params["han_per_line"]["n"])
        rhymed = {int(i) for i in params.get("han_rhyme", {}).get("lines", [])}
        rules += _han_lines(n, total, rhymed)
    else:
        rules += _english_lines(params, total)
    if len(stanzas) > 1:
        rules.append("STANZA_BREAK: /\\n\\n?/")
    if "han_rhyme" in params:
        groups = range(len(_rhyme_classes()))
        rules.insert(0, "start: " + " | ".join(f"body_{g}" for g in groups))
        for g in groups:
            names = [f"L{i}_R{g}" if i in rhymed else f"L{i}" for i in range(1, total + 1)]
            rules.append(f"body_{g}: {_join(names, stanzas)}")
    else:
        rules.insert(0, f"start: {_join([f'L{i}' for i in range(1, total + 1)], stanzas)}")
    return "\n".join(rules) + "\n", kept


def _stanzas(params: dict[str, dict[str, Any]]) -> list[int]:
    """Lines per stanza: the rhyme scheme's groups (ABAB CDCD EFEF GG -> 4 4 4 2), else one."""
    if "rhyme_scheme" in params:
        return [len(group) for group in str(params["rhyme_scheme"]["scheme"]).split()]
    if "line_count" in params:
        return [int(params["line_count"]["n"])]
    return [len(params["syllables_per_line"]["counts"])]


def _join(lines: list[str], stanzas: list[int]) -> str:
    """Lines joined by newlines; between stanzas a blank line may stand, inside none."""
    parts, at = [], 0
    for size in stanzas:
        parts.append(' "\\n" '.join(lines[at : at + size]))
        at += size
    return " STANZA_BREAK ".join(parts)


def _han_lines(n: int, total: int, rhymed: set[int]) -> list[str]:
    """One terminal per line: n Chinese characters and the line's punctuation; a rhyme line
    once per rhyme group, ending in a character of that group."""
    rules = [f"HAN: /[{HAN}]/"]
    for i in range(1, total + 1):
        end = HAN_LAST_END if i == total else HAN_LINE_END
        rules.append(f"L{i}: HAN{{{n}}} /[{end}]/")
        if i in rhymed:
            for g, chars in enumerate(_rhyme_classes()):
                rules.append(f"L{i}_R{g}: HAN{{{n - 1}}} /[{chars}]/ /[{end}]/")
    return rules


def _english_lines(params: dict[str, dict[str, Any]], total: int) -> list[str]:
    """One terminal per line: 1..k words, k the most syllables the line may have."""
    if "syllables_per_line" in params:
        p = params["syllables_per_line"]
        most = [int(c) + int(p.get("tolerance", 0)) for c in p["counts"]]
    elif "syllable_range" in params:
        most = [int(params["syllable_range"]["max"])] * total
    else:
        most = [16] * total
    punct = _class(VERSE_PUNCT)
    rules = [f"WORD: /{WORD}/", f"GAP: /[ {punct}]+/", 'OPEN: /["“(]?/', f"CLOSE: /[{punct}]*/"]
    for i in range(1, total + 1):
        words = most[i - 1] if i - 1 < len(most) else most[-1]
        rules.append(f"L{i}: OPEN WORD (GAP WORD){{0,{max(words, 1) - 1}}} CLOSE")
    return rules


RHYME_CHARS = Path(__file__).parent / "data" / "rhyme_chars.yaml"


@lru_cache(maxsize=1)
def _rhyme_classes() -> tuple[str, ...]:
    """Per 中华新韵 group, the characters a rhyme line may end with, as a regex class.

    From `data/rhyme_chars.yaml`: 48 a group (see its header). With every CJK character in
    the fourteen classes, llguidance's lexer gives up on a real vocabulary's masks ("too many
    expressions constructed"); only the rhyme character is held to the list.
    """
    groups = yaml.safe_load(RHYME_CHARS.read_text(encoding="utf-8"))
    return tuple(_ranges(sorted(ord(ch) for ch in str(groups[g]))) for g in sorted(groups))


def rhyme_chars() -> dict[str, str]:
    """The rhyme characters of the 绝句 grammar by group (the shipped list)."""
    groups = yaml.safe_load(RHYME_CHARS.read_text(encoding="utf-8"))
    return {str(g): str(chars) for g, chars in groups.items()}


def _ranges(codes: list[int]) -> str:
    out, start, prev = [], codes[0], codes[0]
    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        out.append(chr(start) if start == prev else f"{chr(start)}-{chr(prev)}")
        start = prev = code
    return "".join(out)


# --- prose ---------------------------------------------------------------------------------


def _prose(style: Style) -> tuple[str | None, list[StyleConstraint]]:
    """The whole text as one terminal: the intersection of one regex per kept constraint."""
    parts: list[str] = []
    kept: list[StyleConstraint] = []
    for c in style.constraints:
        regex = _prose_regex(c.kind, c.params)
        if regex is not None:
            parts.append(regex)
            kept.append(c)
    if not parts:
        return None, []
    parts.append(PLAIN)
    names = [f"P{i}" for i in range(len(parts))]
    rules = ["start: TEXT", f"TEXT: {' & '.join(names)}"]
    rules += [f"{name}: /{regex}/" for name, regex in zip(names, parts, strict=True)]
    return "\n".join(rules) + "\n", kept


def _prose_regex(kind: str, p: dict[str, Any]) -> str | None:
    if kind == "word_count":
        lo, hi = max(int(p.get("min", 1)), 1), int(p.get("max", 100_000))
        return f"{NOT_WORD}*({WORD}{NOT_WORD}+){{{lo - 1},{hi - 1}}}{WORD}{NOT_WORD}*"
    if kind == "han_count":
        lo, hi = int(p.get("min", 0)), int(p.get("max", 100_000))
        return f"[^{HAN}]*([{HAN}][^{HAN}]*){{{lo},{hi}}}"
    if kind == "line_count":
        line = r"[^\S\n]*\S[^\n]*"
        return f"{line}(\\n{line}){{{int(p['n']) - 1}}}"
    if kind == "line_pattern" and str(p["pattern"]) == r"\S":
        return f"(\\s*\\S[^\\n]*\\n){{{int(p.get('min', 1)) - 1},}}\\s*\\S[^\\n]*\\s*"
    if kind == "markers" and p.get("where") == "start":
        return _first_line_holds([str(t) for t in p["terms"]], bool(p.get("case_sensitive")))
    return None


def _first_line_holds(terms: list[str], case_sensitive: bool) -> str:
    """The first line contains one of the terms (Latin terms as whole words, like the checker)."""
    latin = [t for t in terms if t[:1].isascii() and t[:1].isalnum()]
    other = [t for t in terms if t not in latin]
    flags = "" if case_sensitive else "?i:"
    alternatives = []
    if latin:
        words = "|".join(_escape(t) for t in latin)
        alternatives.append(rf"([^\n]*[^\w\n])?({flags}{words})([^\w](?s:.*))?")
    if other:
        alternatives.append(rf"[^\n]*({'|'.join(_escape(t) for t in other)})(?s:.*)")
    return "|".join(f"({a})" for a in alternatives)


def _escape(text: str) -> str:
    """A literal inside a /.../ regex (Rust syntax; the slash ends the Lark literal)."""
    return "".join("\\" + ch if ch in r"\.+*?()|[]{}^$#&-~/" else ch for ch in text)


def _class(chars: str) -> str:
    return "".join("\\" + ch if ch in r"\]^-[/" else ch for ch in chars)
