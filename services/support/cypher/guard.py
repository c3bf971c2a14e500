"""Validate generated Cypher before it runs: tokenize, read-only, schema-checked, LIMIT capped."""

from __future__ import annotations

import re
from dataclasses import dataclass

from twincore.platform.graph.store import GraphSchema

MAX_LIMIT = 100

WRITE_CLAUSES = {"CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "LOAD", "FOREACH"}
READ_PROCEDURES = {"db.labels", "db.relationshiptypes", "db.propertykeys"}


class CypherRejectedError(ValueError):
    """The query is refused; the message says why (it is fed back to the core on retry)."""


@dataclass(frozen=True)
class Token:
    kind: str  # word, string, number, punct, param, backtick
    text: str
    pos: int


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUM = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_PUNCT = ("<>", "<=", ">=", "=~", "->", "<-", "..", "+=")


def tokenize(text: str) -> list[Token]:
    """Cypher tokens; comments are refused, strings are kept whole (their content is data)."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("//", i) or text.startswith("/*", i):
            raise CypherRejectedError(f"comments are not allowed (position {i})")
        elif ch in "'\"":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise CypherRejectedError(f"unterminated string literal at position {i}")
            tokens.append(Token("string", text[i + 1 : j], i))
            i = j + 1
        elif ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise CypherRejectedError(f"unterminated backtick name at position {i}")
            tokens.append(Token("word", text[i + 1 : j], i))
            i = j + 1
        elif ch == "$":
            m = _WORD.match(text, i + 1)
            if not m:
                raise CypherRejectedError(f"bad parameter at position {i}")
            tokens.append(Token("param", m.group(), i))
            i = m.end()
        elif (m := _WORD.match(text, i)) is not None:
            tokens.append(Token("word", m.group(), i))
            i = m.end()
        elif (m := _NUM.match(text, i)) is not None:
            tokens.append(Token("number", m.group(), i))
            i = m.end()
        else:
            two = text[i : i + 2]
            if two in _PUNCT:
                tokens.append(Token("punct", two, i))
                i += 2
            elif ch in "()[]{}:,.;=<>+-*/%|^!":
                tokens.append(Token("punct", ch, i))
                i += 1
            else:
                raise CypherRejectedError(f"unexpected character {ch!r} at position {i}")
    return tokens


@dataclass(frozen=True)
class Checked:
    """A query that passed: the text to run (LIMIT possibly added or lowered)."""

    cypher: str
    limit: int


def validate(cypher: str, schema: GraphSchema, *, max_limit: int = MAX_LIMIT) -> Checked:
    """Refuse anything that is not a single read query over the schema; enforce a LIMIT."""
    text = cypher.strip().rstrip(";").strip()
    if not text:
        raise CypherRejectedError("empty query")
    toks = tokenize(text)
    words = [t for t in toks if t.kind == "word"]
    if any(t.kind == "punct" and t.text == ";" for t in toks):
        raise CypherRejectedError("only one statement is allowed")
    for w in words:
        if w.text.upper() in WRITE_CLAUSES and not _is_property_or_label(toks, w):
            raise CypherRejectedError(f"write clause {w.text.upper()} is not allowed (read-only)")
    upper = [w.text.upper() for w in words]
    if not upper or upper[0] not in {"MATCH", "OPTIONAL", "WITH", "UNWIND", "RETURN", "CALL"}:
        raise CypherRejectedError(
            "query must start with MATCH, OPTIONAL MATCH, WITH, UNWIND or RETURN"
        )
    _check_calls(toks)
    _check_schema(toks, schema)
    return _enforce_limit(text, toks, max_limit)


def _index(toks: list[Token], tok: Token) -> int:
    return next(i for i, t in enumerate(toks) if t is tok)


def _is_property_or_label(toks: list[Token], tok: Token) -> bool:
    """`n.set` or `:Remove` are names, not clauses."""
    i = _index(toks, tok)
    return i > 0 and toks[i - 1].kind == "punct" and toks[i - 1].text in {".", ":"}


def _check_calls(toks: list[Token]) -> None:
    for i, t in enumerate(toks):
        if t.kind != "word" or t.text.upper() != "CALL" or _is_property_or_label(toks, t):
            continue
        parts: list[str] = []
        j = i + 1
        while j < len(toks) and toks[j].kind == "word":
            parts.append(toks[j].text)
            if j + 1 < len(toks) and toks[j + 1].text == ".":
                j += 2
            else:
                break
        name = ".".join(parts).lower()
        if name not in READ_PROCEDURES:
            shown = name or "a subquery"
            raise CypherRejectedError(
                f"CALL {shown} is not allowed (only {sorted(READ_PROCEDURES)})"
            )


def _check_schema(toks: list[Token], schema: GraphSchema) -> None:
    labels = schema.labels
    rels = set(schema.relationships)
    props = schema.property_keys
    depth_bracket = 0
    for i, t in enumerate(toks):
        if t.kind == "punct":
            if t.text == "[":
                depth_bracket += 1
            elif t.text == "]":
                depth_bracket -= 1
            continue
        if t.kind != "word" or i == 0:
            continue
        prev = toks[i - 1]
        if prev.kind == "punct" and prev.text in {":", "|"} and _in_pattern(toks, i):
            known = rels if _inside_rel(toks, i) else labels
            what = "relationship type" if known is rels else "label"
            if t.text not in known:
                raise CypherRejectedError(f"unknown {what} {t.text!r}; known: {sorted(known)}")
        elif prev.kind == "punct" and prev.text == "." and i >= 2 and toks[i - 2].kind == "word":
            is_call = i + 1 < len(toks) and toks[i + 1].text == "("
            if toks[i - 2].text.lower() == "db" or is_call:  # procedures, duration.between()
                continue
            if t.text not in props:
                raise CypherRejectedError(f"unknown property {t.text!r}")


def _inside_rel(toks: list[Token], i: int) -> bool:
    """Is token i inside `[...]` of a relationship pattern (nearest open bracket is `[`)?"""
    depth = 0
    for j in range(i - 1, -1, -1):
        s = toks[j].text if toks[j].kind == "punct" else ""
        if s in {")", "]"}:
            depth += 1
        elif s in {"(", "["}:
            if depth == 0:
                return s == "["
            depth -= 1
    return False


def _in_pattern(toks: list[Token], i: int) -> bool:
    """A `:Name` inside (...) or [...] (not a map key `{k: v}` nor a `x IS :: T`)."""
    depth = 0
    for j in range(i - 1, -1, -1):
        s = toks[j].text if toks[j].kind == "punct" else ""
        if s in {")", "]", "}"}:
            depth += 1
        elif s in {"(", "[", "{"}:
            if depth == 0:
                return s in {"(", "["}
            depth -= 1
    return False


def _enforce_limit(text: str, toks: list[Token], max_limit: int) -> Checked:
    last_limit = None
    for i, t in enumerate(toks):
        if t.kind == "word" and t.text.upper() == "LIMIT" and not _is_property_or_label(toks, t):
            last_limit = i
    if last_limit is None:
        return Checked(f"{text}\nLIMIT {max_limit}", max_limit)
    if last_limit + 1 >= len(toks) or toks[last_limit + 1].kind != "number":
        raise CypherRejectedError("LIMIT must be a literal integer")
    num = toks[last_limit + 1]
    if "." in num.text or "e" in num.text.lower():
        raise CypherRejectedError("LIMIT must be a literal integer")
    value = int(num.text)
    if value <= max_limit:
        return Checked(text, value)
    capped = text[: num.pos] + str(max_limit) + text[num.pos + len(num.text) :]
    return Checked(capped, max_limit)
