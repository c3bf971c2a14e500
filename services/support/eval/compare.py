"""How `eval support` decides that a generated query's rows answer like the reference's.

The rules (documented in docs/support.md, "Evaluation"):
- Column names and column order are ignored: a row is the multiset of its values, so
  `RETURN p.productName AS name` matches `RETURN p.productName`.
- Values are normalised: numbers to floats rounded to 4 decimals (5 == 5.0, averages compare
  across engines), nodes and relationships to their properties (labels and internal keys
  dropped), lists element-wise, dates to ISO text.
- Result sets are compared as multisets, unless the reference orders its rows (`ORDER BY`
  outside a string): then row i must match row i.
- A generated result the guard's LIMIT cut short (it holds exactly `limit` rows and the
  reference has more) counts as correct when its rows are a sub-multiset of the reference's
  (ordered: a prefix of them): the service never returns more than that many rows.

A second, looser score (`same_entities`) forgives one difference the strict rule counts as
wrong: the reference returns whole nodes (`RETURN p`) and the generated query returns some of
their properties (`RETURN p.productName, p.unitPrice`). A generated row stands for a reference
row when it holds the row's plain values, an identifying property (an id or name) of each of
its nodes, and nothing that is not one of those nodes' properties; rows are paired greedily.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

from twincore.services.support.cypher.guard import CypherRejectedError, tokenize

Value = Any
RowKey = tuple[str, ...]


def normalise(value: Value) -> Value:
    """A hashable, engine-neutral form of one returned value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return round(float(value), 4)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return tuple(
            sorted((k, repr(normalise(v))) for k, v in value.items() if not k.startswith("_"))
        )
    if isinstance(value, list | tuple):
        return tuple(normalise(v) for v in value)
    return str(value)


def row_key(row: dict[str, Value]) -> RowKey:
    """One row as the sorted reprs of its normalised values (names and order ignored)."""
    return tuple(sorted(repr(normalise(v)) for v in row.values()))


def is_ordered(cypher: str) -> bool:
    """Does the query sort its rows (`ORDER BY` as keywords, not inside a string)?"""
    try:
        tokens = tokenize(cypher)
    except CypherRejectedError:
        # Comments and odd characters: fall back to a plain look (references are trusted).
        return "ORDER BY" in " ".join(cypher.upper().split())
    words = [t.text.upper() for t in tokens if t.kind == "word"]
    return any(a == "ORDER" and b == "BY" for a, b in itertools.pairwise(words))


def _is_sub_multiset(small: Sequence[RowKey], big: Sequence[RowKey]) -> bool:
    have = Counter(big)
    have.subtract(Counter(small))
    return all(n >= 0 for n in have.values())


def same_result(
    reference: Sequence[dict[str, Value]],
    generated: Sequence[dict[str, Value]],
    *,
    ordered: bool,
    limit: int | None = None,
) -> bool:
    """Do the generated rows answer like the reference rows (see the module rules)?"""
    ref = [row_key(r) for r in reference]
    gen = [row_key(r) for r in generated]
    truncated = limit is not None and len(gen) == limit and len(ref) > limit
    if truncated:
        return gen == ref[: len(gen)] if ordered else _is_sub_multiset(gen, ref)
    if ordered:
        return gen == ref
    return Counter(gen) == Counter(ref)


def _is_key(name: str) -> bool:
    return name.endswith("ID") or name.endswith("Name") or name in {"title", "name"}


def _split(row: dict[str, Value]) -> tuple[Counter[str], list[dict[str, Value]]]:
    plain: Counter[str] = Counter()
    nodes: list[dict[str, Value]] = []
    for value in row.values():
        if isinstance(value, dict):
            nodes.append({k: v for k, v in value.items() if not k.startswith("_")})
        else:
            plain[repr(normalise(value))] += 1
    return plain, nodes


def _stands_for(generated: dict[str, Value], reference: dict[str, Value]) -> bool:
    plain, nodes = _split(reference)
    values = Counter(repr(normalise(v)) for v in generated.values())
    if any(values[k] < n for k, n in plain.items()):
        return False
    rest = values - plain
    if not nodes:
        return not rest
    props = {repr(normalise(v)) for node in nodes for v in node.values()}
    if any(v not in props for v in rest):
        return False
    return all(
        any(repr(normalise(v)) in rest for k, v in node.items() if _is_key(k)) for node in nodes
    )


def same_entities(
    reference: Sequence[dict[str, Value]],
    generated: Sequence[dict[str, Value]],
    *,
    ordered: bool,
    limit: int | None = None,
) -> bool:
    """The looser score: like `same_result`, but properties may stand for returned nodes."""
    if same_result(reference, generated, ordered=ordered, limit=limit):
        return True
    truncated = limit is not None and len(generated) == limit and len(reference) > limit
    if len(generated) != len(reference) and not truncated:
        return False
    if ordered:
        return all(_stands_for(g, r) for g, r in zip(generated, reference, strict=False))
    unused = list(range(len(reference)))
    for g in generated:
        match = next((i for i in unused if _stands_for(g, reference[i])), None)
        if match is None:
            return False
        unused.remove(match)
    return True
