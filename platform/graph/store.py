"""The `GraphStore` protocol every graph backend implements, and the schema it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Row = dict[str, Any]


class GraphError(RuntimeError):
    """A graph query failed (syntax, timeout, connection); the message is safe to show."""


class GraphUnavailable(GraphError):  # noqa: N818 (read as `raise GraphUnavailable(...)`)
    """The graph's server cannot be reached (its daemon died, its socket is gone): reopening
    the store may bring it back, retrying the same connection will not."""


@dataclass(frozen=True)
class RelType:
    """A relationship type with the label pairs it was seen connecting."""

    name: str
    endpoints: tuple[tuple[str, str], ...]


@dataclass
class GraphSchema:
    """What the graph holds: labels with property types, relationship types with endpoints."""

    node_properties: dict[str, dict[str, str]] = field(default_factory=dict)
    relationships: dict[str, RelType] = field(default_factory=dict)
    rel_properties: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def labels(self) -> set[str]:
        return set(self.node_properties)

    @property
    def property_keys(self) -> set[str]:
        keys: set[str] = set()
        for props in (*self.node_properties.values(), *self.rel_properties.values()):
            keys.update(props)
        return keys

    def as_text(self) -> str:
        """The schema in the compact form text-to-Cypher prompts use."""
        lines = ["Node labels and properties:"]
        for label, props in sorted(self.node_properties.items()):
            inner = ", ".join(f"{k}: {t}" for k, t in sorted(props.items()))
            lines.append(f"  (:{label} {{{inner}}})")
        lines.append("Relationships:")
        for rel in sorted(self.relationships.values(), key=lambda r: r.name):
            props = self.rel_properties.get(rel.name, {})
            inner = ", ".join(f"{k}: {t}" for k, t in sorted(props.items()))
            suffix = f" {{{inner}}}" if inner else ""
            for src, dst in rel.endpoints:
                lines.append(f"  (:{src})-[:{rel.name}{suffix}]->(:{dst})")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "node_properties": self.node_properties,
            "relationships": {
                n: [list(e) for e in r.endpoints] for n, r in self.relationships.items()
            },
            "rel_properties": self.rel_properties,
        }


class GraphStore(Protocol):
    """A Cypher-speaking graph database."""

    backend: str

    def query(
        self, cypher: str, params: dict[str, Any] | None = None, *, read_only: bool = True
    ) -> list[Row]:
        """Run one statement; rows as dicts keyed by the RETURN column names."""
        ...

    def schema(self) -> GraphSchema:
        """Labels, relationship types with endpoints, property names and sampled types."""
        ...

    def clear(self) -> None:
        """Delete every node and relationship (loaders start from empty)."""
        ...

    def close(self) -> None:
        """Release connections (and stop an embedded server this process started)."""
        ...


def python_type_name(value: Any) -> str:
    """Map a sampled property value to the type name shown in the schema."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "FLOAT"
    if isinstance(value, list):
        return "LIST"
    return "STRING"


def introspect(store: GraphStore) -> GraphSchema:
    """Build a schema from portable Cypher (no APOC): labels, rel endpoints, sampled props."""
    schema = GraphSchema()
    labels = [r["label"] for r in store.query("CALL db.labels() YIELD label RETURN label")]
    for label in labels:
        rows = store.query(f"MATCH (n:`{label}`) RETURN properties(n) AS p LIMIT 50")
        props: dict[str, str] = {}
        for row in rows:
            for key, value in (row["p"] or {}).items():
                if value is not None:
                    props.setdefault(key, python_type_name(value))
        schema.node_properties[label] = props
    types = [
        r["relationshipType"]
        for r in store.query(
            "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType"
        )
    ]
    for rel in types:
        rows = store.query(
            f"MATCH (a)-[r:`{rel}`]->(b) RETURN DISTINCT labels(a)[0] AS src, "
            "labels(b)[0] AS dst LIMIT 20"
        )
        ends = tuple(sorted({(str(r["src"]), str(r["dst"])) for r in rows}))
        schema.relationships[rel] = RelType(rel, ends)
        sample = store.query(f"MATCH ()-[r:`{rel}`]->() RETURN properties(r) AS p LIMIT 50")
        rprops: dict[str, str] = {}
        for row in sample:
            for key, value in (row["p"] or {}).items():
                if value is not None:
                    rprops.setdefault(key, python_type_name(value))
        if rprops:
            schema.rel_properties[rel] = rprops
    return schema
