"""Label-aware checks the guard leaves out, so the core gets a precise error to retry with:
a property read from a variable whose label does not have it (`s.shipCountry` on a Shipper),
and a relationship type between labels it never connects (`(o:Order)-[:PURCHASED]->(o:Order)`).

The guard only knows that a property or type exists somewhere in the graph; these queries pass
it and run, returning nothing or nulls. Variables without a label, or bound to several labels,
are not judged.
"""

from __future__ import annotations

import re

from twincore.platform.graph.store import GraphSchema
from twincore.services.support.cypher.direction import hops, mask_strings
from twincore.services.support.cypher.guard import CypherRejectedError

_NODE_BINDING = re.compile(r"\(\s*(\w+)\s*:\s*`?(\w+)`?")
_REL_BINDING = re.compile(r"\[\s*(\w+)\s*:\s*`?(\w+)`?\s*[\]{*]")
_ACCESS = re.compile(r"(?<![\w.$])(\w+)\s*\.\s*`?(\w+)`?(?!\s*\()")


def _bindings(pattern: re.Pattern[str], masked: str) -> dict[str, str]:
    seen: dict[str, set[str]] = {}
    for m in pattern.finditer(masked):
        seen.setdefault(m.group(1), set()).add(m.group(2))
    return {var: next(iter(labels)) for var, labels in seen.items() if len(labels) == 1}


def check_schema_use(cypher: str, schema: GraphSchema) -> None:
    """Raise `CypherRejectedError` naming the first property or hop the schema rules out."""
    masked = mask_strings(cypher)
    nodes = _bindings(_NODE_BINDING, masked)
    rels = _bindings(_REL_BINDING, masked)
    for m in _ACCESS.finditer(masked):
        var, prop = m.group(1), m.group(2)
        if var in nodes and nodes[var] in schema.node_properties:
            have = schema.node_properties[nodes[var]]
            owner = f":{nodes[var]}"
        elif var in rels and rels[var] in schema.relationships:
            have = schema.rel_properties.get(rels[var], {})
            owner = f":{rels[var]} relationships"
        else:
            continue
        if prop not in have:
            raise CypherRejectedError(
                f"{var}.{prop}: {owner} has no property {prop!r}; it has {sorted(have)}"
            )
    for hop in hops(masked, nodes):
        if hop.src is None or hop.dst is None or not hop.types:
            continue
        rel_types = [schema.relationships.get(t) for t in hop.types]
        if any(r is None for r in rel_types):
            continue
        ends = {e for r in rel_types if r is not None for e in r.endpoints}
        if (hop.src, hop.dst) not in ends and (hop.dst, hop.src) not in ends:
            shown = ", ".join(
                f"(:{a})-[:{t}]->(:{b})"
                for t in hop.types
                for a, b in (schema.relationships[t].endpoints)
            )
            raise CypherRejectedError(
                f"no {'|'.join(hop.types)} relationship between :{hop.src} and :{hop.dst}; "
                f"the schema has {shown}"
            )
