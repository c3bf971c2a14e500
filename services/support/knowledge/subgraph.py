"""The subgraph behind an answer: the cited nodes and their direct neighbours (GraphRAG-style
local context), as plain nodes and edges a picture can be drawn from."""

from __future__ import annotations

from typing import Any

from twincore.platform.graph.store import GraphError, GraphSchema, GraphStore
from twincore.services.support.answer import Citation

MAX_CITED = 5
NEIGHBOURS = 12  # per direction and cited node: enough context, a picture that stays legible
NAME_KEYS = ("companyName", "productName", "categoryName", "title", "text")


def id_property(label: str) -> str:
    """The id property of a Northwind-model label: Order -> orderID, Issue -> issueID."""
    return f"{label[:1].lower()}{label[1:]}ID"


def _name(label: str, props: dict[str, Any]) -> str:
    if label == "Employee" and props.get("lastName"):
        return f"{props.get('firstName', '')} {props['lastName']}".strip()
    for key in NAME_KEYS:
        if props.get(key):
            text = str(props[key])
            return text if len(text) <= 40 else text[:37] + "..."
    return f"{label} {props.get(id_property(label), '?')}"


def _node(label: str, props: dict[str, Any]) -> dict[str, Any]:
    key = str(props.get(id_property(label), "?"))
    return {"id": f"{label}:{key}", "label": label, "key": key, "name": _name(label, props)}


def cited_subgraph(
    store: GraphStore, schema: GraphSchema, citations: list[Citation]
) -> dict[str, Any]:
    """Nodes (`id`, `label`, `key`, `name`, `cited`) and edges (`src`, `dst`, `type`)."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str, str]] = set()
    for cite in citations[:MAX_CITED]:
        prop = id_property(cite.label)
        # Labels and keys are interpolated only after the schema vouched for them.
        if cite.label not in schema.labels or prop not in schema.node_properties[cite.label]:
            continue
        centre = f"(n:`{cite.label}` {{`{prop}`: $key}})"
        # properties() and labels() read the same on FalkorDB and Neo4j (nodes themselves do not).
        ret = f"RETURN type(r) AS t, properties(m) AS m, labels(m)[0] AS ml LIMIT {NEIGHBOURS}"
        try:
            alone = store.query(f"MATCH {centre} RETURN properties(n) AS n", {"key": cite.key})
            out_rows = store.query(f"MATCH {centre}-[r]->(m) {ret}", {"key": cite.key})
            in_rows = store.query(f"MATCH {centre}<-[r]-(m) {ret}", {"key": cite.key})
        except GraphError:
            continue  # the picture is an aid; the answer stands without it
        if not alone:
            continue
        n = _node(cite.label, alone[0]["n"])
        nodes.setdefault(n["id"], n)
        for rows, outgoing in ((out_rows, True), (in_rows, False)):
            for row in rows:
                m = _node(str(row["ml"]), row["m"] or {})
                nodes.setdefault(m["id"], m)
                src, dst = (n, m) if outgoing else (m, n)
                edges.add((src["id"], dst["id"], str(row["t"])))
    cited = {f"{c.label}:{c.key}" for c in citations}
    return {
        "nodes": [{**n, "cited": n["id"] in cited} for n in nodes.values()],
        "edges": [{"src": s, "dst": d, "type": t} for s, d, t in sorted(edges)],
    }
