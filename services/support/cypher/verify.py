"""The support checker: does a generated query answer *this* question from the graph?

A query is accepted when it
1. parses and is a single read-only query over the schema's labels, relationship types and
   properties (the guard, then the label-aware checks of `schema_check`);
2. binds every entity the question names: each mention appears as a literal (a property match,
   a WHERE value, a parameter) -- a query that drops "supplier Exotic Liquids" and counts every
   product is rejected, with a reason naming what it ignored;
3. answers the question's shape: a question that asks *which* things is not answered by a
   query that only counts them (a count answers "how many");
4. runs on the graph and returns rows that are not all null.

Every reason is one plain sentence a repair turn shows the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twincore.platform.graph.store import GraphError, GraphSchema, GraphStore, GraphUnavailable
from twincore.platform.router.escalation import Verdict
from twincore.services.support.cypher.direction import mask_strings
from twincore.services.support.cypher.guard import CypherRejectedError, tokenize, validate
from twincore.services.support.cypher.schema_check import check_schema_use
from twincore.services.support.intents.mentions import Mention, norm

# A literal this short inside a name binds nothing ("a" is in every name).
MIN_PARTIAL_CHARS = 3
_NOT_VALUES = {"LIMIT", "SKIP"}
MIN_ID_DIGITS = 4
_ASKS_COUNT = re.compile(
    r"\b(how many|how much|number of|count|total|amount|average|sum|most|least|more than|"
    r"fewer than|less than|at least)\b",
    re.IGNORECASE,
)
_LAST_RETURN = re.compile(r".*\bRETURN\b(?:\s+DISTINCT\b)?(.*)", re.IGNORECASE | re.DOTALL)
_RETURN_END = re.compile(r"\b(ORDER\s+BY|SKIP|LIMIT)\b", re.IGNORECASE)
_COUNT_ITEM = re.compile(r"^count\s*\(", re.IGNORECASE)


@dataclass
class Checked:
    """A query as the checker saw it: the text that ran, its rows, and the verdict."""

    cypher: str
    verdict: Verdict
    rows: list[dict[str, Any]] = field(default_factory=list)
    ran: bool = False
    stage: int = 0
    """How far the query got: 0 refused (guard, schema), 1 allowed but an entity unbound or the
    wrong shape, 2 the graph failed to run it, 3 ran without useful rows, 4 accepted."""


def literals(cypher: str, params: Mapping[str, Any] | None = None) -> list[str]:
    """The values a query matches on: its string literals, id-like numbers (not LIMIT/SKIP
    counts) and the parameters it is run with, normalised (`norm`)."""
    found = [str(v) for v in (params or {}).values() if v is not None]
    try:
        tokens = tokenize(cypher)
    except CypherRejectedError:
        return [norm(v) for v in found]
    for i, tok in enumerate(tokens):
        counted = i > 0 and tokens[i - 1].text.upper() in _NOT_VALUES
        # Order ids are five digits; a short number is a threshold, not a name.
        number = tok.kind == "number" and len(tok.text) >= MIN_ID_DIGITS and not counted
        if tok.kind == "string" or number:
            found.append(tok.text)
    return [n for n in (norm(v) for v in found) if n]


def is_bound(mention: Mention, values: Sequence[str]) -> bool:
    """Does one of the query's values name the mention: equal to its name, alias or id, a part
    of its name (`CONTAINS 'Exotic'`), or its words spread over several values (first and last
    name matched apart)?"""
    forms = mention.forms
    for value in values:
        for form in forms:
            if value == form or (len(value) >= MIN_PARTIAL_CHARS and value in form):
                return True
            if f" {form} " in f" {value} ":  # a regex or a pattern around the name
                return True
    words = set(" ".join(values).split())
    return any(len(form.split()) > 1 and set(form.split()) <= words for form in forms)


def unbound(
    mentions: Sequence[Mention], cypher: str, params: Mapping[str, Any] | None = None
) -> list[Mention]:
    """The mentions the query does not bind."""
    values = literals(cypher, params)
    return [m for m in mentions if not is_bound(m, values)]


def binding_reason(mention: Mention) -> str:
    """Why a query that ignores `mention` is rejected, and how to use it."""
    return (
        f"The question names the {mention.kind} '{mention.value}', but the query does not "
        f"filter on it; match it, e.g. (:{mention.label} {{{mention.prop}: "
        f"{_quoted(mention.value)}}})."
    )


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def counts_only(cypher: str) -> bool:
    """Does the query's last RETURN hold nothing but `count(...)` items?"""
    m = _LAST_RETURN.match(mask_strings(cypher))
    if m is None:
        return False
    clause = _RETURN_END.split(m.group(1), maxsplit=1)[0]
    items = [i.strip() for i in _top_level_split(clause) if i.strip()]
    return bool(items) and all(_COUNT_ITEM.match(i) for i in items)


def _top_level_split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def shape_reason(question: str, cypher: str) -> str | None:
    """Why the query does not answer the kind of question asked, or None."""
    if question and not _ASKS_COUNT.search(question) and counts_only(cypher):
        return (
            "The question asks which items match, but the query only counts them; return "
            "the matching items' names or ids instead of count()."
        )
    return None


def _all_null(rows: Sequence[Mapping[str, Any]]) -> bool:
    return all(v is None or v == [] for row in rows for v in row.values())


def verify(
    cypher: str,
    *,
    schema: GraphSchema,
    store: GraphStore,
    mentions: Sequence[Mention],
    question: str = "",
    params: Mapping[str, Any] | None = None,
) -> Checked:
    """Judge one query (see the module rules); the query runs only when it is bound."""
    try:
        text = validate(cypher, schema).cypher
        check_schema_use(text, schema)
    except CypherRejectedError as error:
        return Checked(cypher, Verdict(False, (f"The query is not allowed: {error}.",)))
    reasons = [binding_reason(m) for m in unbound(mentions, text, params)]
    shape = shape_reason(question, text)
    if shape is not None:
        reasons.append(shape)
    if reasons:
        return Checked(text, Verdict(False, tuple(reasons)), stage=1)
    try:
        rows = store.query(text, dict(params or {}))
    except GraphUnavailable:
        raise  # the graph is down, not the query wrong: the request answers 503
    except GraphError as error:
        reason = f"The graph could not run the query: {error}"
        return Checked(text, Verdict(False, (reason,)), stage=2)
    if not rows:
        reason = "The query returned no rows; check the names, values and directions it uses."
        return Checked(text, Verdict(False, (reason,)), ran=True, stage=3)
    if _all_null(rows):
        reason = "The query returned only null values; return properties that exist."
        return Checked(text, Verdict(False, (reason,)), rows, ran=True, stage=3)
    noun = "row" if len(rows) == 1 else "rows"
    verdict = Verdict(True, (f"The query returned {len(rows)} {noun}.",))
    return Checked(text, verdict, rows, ran=True, stage=4)
