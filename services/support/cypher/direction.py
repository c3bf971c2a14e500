"""Fix the direction of relationship patterns against the schema, as LangChain's
`CypherQueryCorrector` does: `(p:Product)-[:ORDERS]->(o:Order)` becomes `<-[:ORDERS]-`.

Only directed, typed hops with at least one end of known label (in the pattern, or bound
elsewhere in the query by its variable) are touched, and only when the schema has the type the
other way round and not this way. Everything else is left for the guard and the store to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from twincore.platform.graph.store import GraphSchema

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_NODE = r"\(\s*(\w*)\s*(?::\s*`?(\w+)`?)?[^()]*\)"
_REL = r"(<?-)\s*\[\s*\w*\s*((?::\s*`?\w+`?\s*(?:\|\s*:?\s*`?\w+`?\s*)*)?)[^\[\]]*\]\s*(->?)"
_HOP = re.compile(_NODE + r"\s*" + _REL + r"\s*(?=" + _NODE + ")")
_NEXT_NODE = re.compile(_NODE)
_BINDING = re.compile(r"\(\s*(\w+)\s*:\s*`?(\w+)`?")


@dataclass(frozen=True)
class Hop:
    """One `(a)-[:T]->(b)` step: end labels as written left to right (None: unknown), the
    types, which way it points, and where its two arrow pieces are in the text."""

    left: str | None
    right: str | None
    types: tuple[str, ...]
    forward: bool
    backward: bool
    start_span: tuple[int, int]
    end_span: tuple[int, int]

    @property
    def src(self) -> str | None:
        return self.right if self.backward else self.left

    @property
    def dst(self) -> str | None:
        return self.left if self.backward else self.right


def mask_strings(cypher: str) -> str:
    """Same length, string contents blanked, so patterns inside literals are not seen."""

    def blank(m: re.Match[str]) -> str:
        quote = m.group(0)[0]
        return quote + "_" * (len(m.group(0)) - 2) + quote

    return _STRING.sub(blank, cypher)


def node_labels(masked: str) -> dict[str, str]:
    """Variable -> label for every `(v:Label` in the (masked) query."""
    return {m.group(1): m.group(2) for m in _BINDING.finditer(masked)}


def hops(masked: str, bound: dict[str, str]) -> Iterator[Hop]:
    """Every relationship step of every pattern chain, with end labels resolved via `bound`."""
    pos = 0
    while (hop := _HOP.search(masked, pos)) is not None:
        after = _NEXT_NODE.match(masked, hop.end())
        assert after is not None  # the lookahead guarantees a node follows
        start, end = hop.group(3), hop.group(5)
        yield Hop(
            hop.group(2) or bound.get(hop.group(1)),
            after.group(2) or bound.get(after.group(1)),
            tuple(t for t in re.split(r"[\s:|`]+", hop.group(4)) if t),
            start == "-" and end == "->",
            start == "<-" and end == "-",
            hop.span(3),
            hop.span(5),
        )
        pos = after.start()


def _fits(ends: set[tuple[str, str]], src: str | None, dst: str | None) -> bool:
    """Some endpoint pair matches; an unknown label (None) matches any."""
    return any((src in (None, a)) and (dst in (None, b)) for a, b in ends)


def _wrong_way(hop: Hop, schema: GraphSchema) -> bool:
    """Every type is known, none fits src -> dst, and one fits dst -> src."""
    rels = [schema.relationships.get(t) for t in hop.types]
    if any(r is None for r in rels):
        return False
    ends = {e for r in rels if r is not None for e in r.endpoints}
    return not _fits(ends, hop.src, hop.dst) and _fits(ends, hop.dst, hop.src)


def correct_directions(cypher: str, schema: GraphSchema) -> str:
    """The query with wrongly directed hops flipped (unchanged when nothing is known wrong)."""
    masked = mask_strings(cypher)
    flips: list[tuple[tuple[int, int], str]] = []
    for hop in hops(masked, node_labels(masked)):
        # One known end is enough: (p:Product)-[:ORDERS]->() cannot be right either.
        directed = hop.forward or hop.backward
        if (hop.left or hop.right) and hop.types and directed and _wrong_way(hop, schema):
            flips.append((hop.start_span, "<-" if hop.forward else "-"))
            flips.append((hop.end_span, "-" if hop.forward else "->"))
    out = cypher
    for (s, e), text in sorted(flips, reverse=True):
        out = out[:s] + text + out[e:]
    return out
