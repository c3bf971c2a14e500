"""Relationship directions are fixed against the schema, as LangChain's corrector does."""

from __future__ import annotations

from twincore.platform.graph.store import GraphSchema, RelType
from twincore.services.support.cypher.direction import correct_directions

SCHEMA = GraphSchema(
    node_properties={"Order": {}, "Product": {}, "Customer": {}, "Supplier": {}, "Employee": {}},
    relationships={
        "ORDERS": RelType("ORDERS", (("Order", "Product"),)),
        "PURCHASED": RelType("PURCHASED", (("Customer", "Order"),)),
        "SUPPLIES": RelType("SUPPLIES", (("Supplier", "Product"),)),
        "REPORTS_TO": RelType("REPORTS_TO", (("Employee", "Employee"),)),
    },
)


def test_a_reversed_hop_is_flipped() -> None:
    q = "MATCH (p:Product)-[:ORDERS]->(o:Order) RETURN p"
    assert correct_directions(q, SCHEMA) == "MATCH (p:Product)<-[:ORDERS]-(o:Order) RETURN p"
    q = "MATCH (c:Customer)<-[r:PURCHASED]-(o:Order) RETURN o"
    assert correct_directions(q, SCHEMA) == "MATCH (c:Customer)-[r:PURCHASED]->(o:Order) RETURN o"


def test_labels_bound_elsewhere_and_one_known_end_are_used() -> None:
    q = "MATCH (p:Product) MATCH (p)-[:ORDERS]->(o) RETURN o"
    assert correct_directions(q, SCHEMA) == "MATCH (p:Product) MATCH (p)<-[:ORDERS]-(o) RETURN o"
    q = "MATCH (p:Product)-[d:ORDERS]->() RETURN sum(d.quantity)"
    assert "<-[d:ORDERS]-()" in correct_directions(q, SCHEMA)


def test_chains_are_fixed_hop_by_hop() -> None:
    q = (
        "MATCH (s:Supplier)-[:SUPPLIES]->(p:Product)-[:ORDERS]->(o:Order)-[:PURCHASED]->"
        "(c:Customer) RETURN c"
    )
    fixed = correct_directions(q, SCHEMA)
    assert fixed == (
        "MATCH (s:Supplier)-[:SUPPLIES]->(p:Product)<-[:ORDERS]-(o:Order)<-[:PURCHASED]-"
        "(c:Customer) RETURN c"
    )


def test_right_undirected_unknown_and_string_patterns_are_left_alone() -> None:
    for q in (
        "MATCH (o:Order)-[:ORDERS]->(p:Product) RETURN p",
        "MATCH (p:Product)-[:ORDERS]-(o:Order) RETURN p",
        "MATCH (a)-[:ORDERS]->(b) RETURN a",
        "MATCH (p:Product)-[:NOPE]->(o:Order) RETURN p",
        "MATCH (e:Employee)-[:REPORTS_TO*1..2]->(m:Employee) RETURN m",
        "MATCH (p:Product {productName: '(p:Product)-[:ORDERS]->(o:Order)'}) RETURN p",
    ):
        assert correct_directions(q, SCHEMA) == q
