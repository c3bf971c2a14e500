"""The Cypher a support core may write, as a Lark grammar built from the live graph schema.

`cypher_grammar(schema, literals)` is llguidance's Lark dialect (`Constraint("lark", text)`):
the engine masks every token that would leave it, so a constrained reply cannot name a label,
relationship type or property the schema does not have, nor hold a write clause.

What the grammar guarantees:
- one read-only query: `MATCH` / `OPTIONAL MATCH` / `WITH` / `UNWIND` clauses, then `RETURN`
  (DISTINCT, `AS` aliases, ORDER BY, SKIP, LIMIT with a literal integer); no CREATE, MERGE,
  DELETE, SET, REMOVE, CALL, LOAD CSV, FOREACH, UNION, comments or a second statement;
- node labels and relationship types from the schema only, each relationship type only in its
  schema direction between its schema labels: a hop out of `(:Customer)` can only be
  `-[:PURCHASED]->` to an `:Order` or an unlabelled node; between two unlabelled nodes any type
  may be used, in its one direction or undirected;
- properties in a node's or relationship's `{...}` map are that label's or type's own, each
  value a literal of the property's sampled type (or a parameter);
- after `v.` only a property some label or type has (the union: a variable's label is not
  tracked), never chained; subscripts with integers only; functions from a read-only list;
- keywords are whole words (those that take an operand need whitespace after them);
- string literals in a labelled node's map for a linked `(label, property)` (see `literals`)
  are the linked values only; elsewhere any quoted string.

What the checker (`cypher/verify.py`) still enforces: a property read from a variable whose
label lacks it (`s.shipCountry` on a Shipper, `schema_check`), every named entity bound (a
WHERE literal may be any string), the question's shape, a LIMIT cap, and that the query runs
(variables are bound, types fit) and returns rows. The grammar cannot make a reply end within
its token budget: the cascade refuses a cut-off reply (`CUT_OFF`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import ClassVar

import llguidance

from twincore.platform.graph.store import GraphSchema
from twincore.services.support.intents.mentions import Mention


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


Literals = Mapping[tuple[str, str], Sequence[str]]
"""(label, property) -> the only string values a labelled node's map may give it."""

KEYWORDS = _words(
    "match optional where with return distinct as order by asc desc ascending descending "
    "skip limit and or xor not in is null true false contains starts ends unwind case "
    "when then else end create merge delete detach set remove call load foreach union"
)
"""Words a variable may not be (an alias after AS may, but for `WRITE_WORDS`: `o AS Order`)."""
WRITE_WORDS = ("create", "merge", "delete", "detach", "set", "remove", "call", "load", "foreach")
"""Never a name anywhere: the guard would read them as clauses."""
FUNCTIONS = _words(
    "count sum avg min max collect toLower toUpper toString toInteger toFloat toBoolean "
    "size round abs ceil floor sqrt coalesce labels type keys properties head last trim "
    "ltrim rtrim substring left right split replace reverse date id length nodes "
    "relationships startNode endNode range percentileCont percentileDisc stDev"
)
"""Read-only functions a query may call (Neo4j's `EXISTS {...}` and `duration` are not here:
the embedded FalkorDB does not run them)."""
# Places are plain properties several labels share: a linked country binds any of them.
_PLACE_PROPS = {"country": ("country", "shipCountry"), "city": ("city", "shipCity")}

_COMMON = r"""
%ignore /[ \t\r\n]+/
start: query
query: match_clause reading* return_clause
reading: match_clause | with_clause | unwind_clause
match_clause: "OPTIONAL"i? "MATCH"i pattern ("," pattern)* where?
where: "WHERE"i expr
with_clause: "WITH"i "DISTINCT"i? items order? skip? limit? where?
unwind_clause: "UNWIND"i expr "AS"i VAR
return_clause: "RETURN"i "DISTINCT"i? items order? skip? limit?
items: "*" | item ("," item)*
item: expr ("AS"i ALIAS)?
order: "ORDER"i "BY"i sort ("," sort)*
sort: expr ("ASC"i | "DESC"i | "ASCENDING"i | "DESCENDING"i)?
skip: "SKIP"i INT
limit: "LIMIT"i INT
pattern: (VAR "=")? chain
expr: xor_expr ("OR"i xor_expr)*
xor_expr: and_expr ("XOR"i and_expr)*
and_expr: not_expr ("AND"i not_expr)*
not_expr: "NOT"i not_expr | comparison
comparison: sum_expr (COMPARE sum_expr)*
    | sum_expr "IS"i "NOT"i? "NULL"i
    | sum_expr ("IN"i | "CONTAINS"i | "STARTS"i "WITH"i | "ENDS"i "WITH"i | "=~") sum_expr
sum_expr: product (("+" | "-") product)*
product: unary (("*" | "/" | "%") unary)*
unary: "-"? postfix
postfix: VAR "." PROP | (VAR | call | list) index? | atom
index: "[" INDEX "]" | "[" INDEX? ".." INDEX? "]"
atom: literal | PARAM | VAR | call | "count"i "(" "*" ")" | list | "(" expr ")" | case
    | quantifier
    | chain_hop
call: FUNCTION "(" "DISTINCT"i? (expr ("," expr)*)? ")"
list: "[" (expr ("," expr)*)? "]"
    | "[" VAR "IN"i expr ("WHERE"i expr)? ("|" expr)? "]"
quantifier: ("ALL"i | "ANY"i | "NONE"i | "SINGLE"i) "(" VAR "IN"i expr "WHERE"i expr ")"
case: "CASE"i expr? ("WHEN"i expr "THEN"i expr)+ ("ELSE"i expr)? "END"i
literal: STRING | NUMBER | "TRUE"i | "FALSE"i | "NULL"i
value: literal | PARAM | VAR "." PROP | list
value_string: STRING | PARAM
value_integer: INDEX | PARAM
value_float: NUMBER | "-" NUMBER | PARAM
value_boolean: "TRUE"i | "FALSE"i | PARAM
varlen: "*" INT? (".." INT?)?
COMPARE: "=" | "<>" | "<" | ">" | "<=" | ">="
INT: /[0-9]+/
INDEX: /-?[0-9]+/
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /'([^'\\\n]|\\.)*'/ | /"([^"\\\n]|\\.)*"/
PARAM: /\$[A-Za-z_][A-Za-z0-9_]*/
VAR: IDENT & ~KEYWORD
ALIAS: IDENT & ~WRITE_WORD
IDENT: /[A-Za-z_][A-Za-z0-9_]*/
"""


def _alts(words: Iterable[str]) -> str:
    return " | ".join(json.dumps(w) for w in sorted(set(words))) or '""'


def _rule(name: str) -> str:
    """A grammar rule name for a label or type (Lark rule names are lower-case)."""
    return "".join(c if c.isalnum() else "_" for c in name.lower())


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _map_rule(name: str, props: Mapping[str, str], owner: str, literals: Literals) -> str:
    """`{k: v, ...}` whose keys are `owner`'s properties, each value of the property's sampled
    type (ids are strings here: `{orderID: 10248}` finds nothing); a linked key takes its
    values only."""
    pairs = []
    for prop, kind in sorted(props.items()):
        linked = literals.get((owner, prop))
        typed = f"value_{kind.lower()}" if kind in _TYPED else "value"
        value = _alts(_quoted(v) for v in linked) if linked else typed
        pairs.append(f'{json.dumps(prop)} ":" ({value})')
    if not pairs:
        return f'{name}: "{{" "}}"'
    return f'{name}: "{{" {name}_pair ("," {name}_pair)* "}}"\n{name}_pair: ' + " | ".join(pairs)


def _hops(schema: GraphSchema, label: str | None) -> list[str]:
    """The hops out of a node of `label` (None: unlabelled) that the schema allows."""
    out = []
    for rel in sorted(schema.relationships.values(), key=lambda r: r.name):
        r = f"rel_{_rule(rel.name)}"
        for src, dst in rel.endpoints:
            if label in (None, src):
                out.append(f'"-" {r} "->" ({_target(dst)})')
                out.append(f'"-" {r} "-" ({_target(dst)})')
            if label in (None, dst):
                out.append(f'"<-" {r} "-" ({_target(src)})')
                out.append(f'"-" {r} "-" ({_target(src)})')
    return list(dict.fromkeys(out))


def _target(label: str) -> str:
    return f"chain_{_rule(label)} | chain_any"


SPACED = _words(
    "match optional where with return distinct as order by skip limit and or xor not in "
    "is contains starts ends unwind case when then else"
)
"""Keywords that need whitespace after them. Whitespace between tokens is otherwise optional
(`%ignore`), and the lexer would read `Order` as `OR der`, `ORDERBY` as `ORDER BY`: the core
then writes text the grammar allows and the graph cannot parse."""
_TYPED = ("STRING", "INTEGER", "FLOAT", "BOOLEAN")
_SPACED_WORD = re.compile(r'"([A-Z]+)"i')


def _spaced(grammar: str) -> str:
    """`grammar` with each `SPACED` keyword a terminal that ends in one whitespace character."""

    def spaced(m: re.Match[str]) -> str:
        word = m.group(1).lower()
        return f"/(?i){word}[ \\t\\r\\n]/" if word in SPACED else m.group(0)

    return _SPACED_WORD.sub(spaced, grammar)


def cypher_grammar(schema: GraphSchema, literals: Literals | None = None) -> str:
    """The Lark grammar (llguidance dialect) of the read-only Cypher subset over `schema`;
    `literals` restricts the string values of linked (label, property) pairs (module doc)."""
    literals = literals or {}
    lines = [_spaced(_COMMON.strip())]
    lines.append(f"KEYWORD: /(?i)({'|'.join(KEYWORDS)})/")
    lines.append(f"WRITE_WORD: /(?i)({'|'.join(WRITE_WORDS)})/")
    lines.append(f"FUNCTION: /(?i)({'|'.join(FUNCTIONS)})/")
    lines.append(f"PROP: {_alts(schema.property_keys) if schema.property_keys else '/[a-z]+/'}")
    chains = ["chain_any"] + [f"chain_{_rule(label)}" for label in sorted(schema.labels)]
    lines.append("chain: " + " | ".join(chains))
    lines.append('node_any: "(" VAR? ")"')
    hop_chains = []
    for label in (None, *sorted(schema.labels)):
        name = "any" if label is None else _rule(label)
        hops = _hops(schema, label)
        if hops:
            lines.append(f"chain_{name}: node_{name} hop_{name}?")
            lines.append(f"hop_{name}: " + " | ".join(hops))
            hop_chains.append(f"node_{name} hop_{name}")
        else:
            lines.append(f"chain_{name}: node_{name}")
        if label is not None:
            props = schema.node_properties.get(label, {})
            lines.append(f'node_{name}: "(" VAR? ":" {json.dumps(label)} props_{name}? ")"')
            lines.append(_map_rule(f"props_{name}", props, label, literals))
    for rel in schema.relationships:
        name = _rule(rel)
        props = schema.rel_properties.get(rel, {})
        lines.append(f'rel_{name}: "[" VAR? ":" {json.dumps(rel)} varlen? rprops_{name}? "]"')
        lines.append(_map_rule(f"rprops_{name}", props, rel, literals))
    # A pattern used as a predicate (`WHERE NOT (c)-[:PURCHASED]->()`) has at least one hop.
    lines.append("chain_hop: " + (" | ".join(hop_chains) or '"(" ")" "-" "(" ")"'))
    return "\n".join(lines) + "\n"


def linked_literals(
    mentions: Sequence[Mention], schema: GraphSchema
) -> dict[tuple[str, str], list[str]]:
    """The values entity linking found, per (label, property) they live in: names, their
    aliases (a customer's contact), ids; a country or city for every label that holds one.
    Employees are left out: a full name is no one property's value."""
    found: dict[tuple[str, str], list[str]] = {}

    def add(label: str, prop: str, value: str) -> None:
        if prop in schema.node_properties.get(label, {}):
            values = found.setdefault((label, prop), [])
            if value not in values:
                values.append(value)

    for m in mentions:
        if m.kind == "employee":
            continue
        if m.kind in _PLACE_PROPS:
            for label in schema.labels:
                for prop in _PLACE_PROPS[m.kind]:
                    add(label, prop, m.value)
            continue
        add(m.label, m.prop, m.value)
        for alias in m.aliases:
            add(m.label, "contactName", alias)
        if m.key is not None:
            add(m.label, m.label[:1].lower() + m.label[1:] + "ID", m.key)
    return found


class _ByteTokenizer:
    """One token per byte (plus an end token): lets llguidance judge whole strings."""

    eos_token_id = 256
    bos_token_id = None
    special_token_ids: ClassVar[list[int]] = [256]
    tokens: ClassVar[list[bytes]] = [bytes([i]) for i in range(256)] + [b"<eos>"]

    def __call__(self, text: str | bytes) -> list[int]:
        return list(text.encode() if isinstance(text, str) else text)


@lru_cache(maxsize=1)
def _byte_tokenizer() -> llguidance.LLTokenizer:
    return llguidance.LLTokenizer(llguidance.TokenizerWrapper(_ByteTokenizer()), slices=[])


@lru_cache(maxsize=16)
def _compiled(grammar: str) -> llguidance.LLMatcher:
    """The grammar compiled over bytes, once per text (a matcher in its error state when the
    grammar is bad); callers walk a copy."""
    lark = llguidance.LLMatcher.grammar_from_lark(grammar)
    return llguidance.LLMatcher(_byte_tokenizer(), lark, log_level=0)


def grammar_problem(grammar: str) -> str | None:
    """llguidance's complaint about a grammar, or None when it compiles."""
    matcher = _compiled(grammar)
    return matcher.get_error() if matcher.is_error() else None


def in_language(grammar: str, text: str, *, prefix: bool = False) -> bool:
    """Is `text` a whole sentence of `grammar` (what a constrained core could have written)?
    With `prefix`, may it be the start of one (a reply cut off by its token budget)?"""
    problem = grammar_problem(grammar)
    if problem is not None:
        raise ValueError(f"the grammar does not compile: {problem}")
    matcher = _compiled(grammar).deep_copy()
    consumed = matcher.consume_tokens(list(text.encode()))
    return consumed and (prefix or matcher.is_accepting())
