"""Label-aware checks give the core a precise reason for queries the guard lets through."""

from __future__ import annotations

import pytest

from twincore.platform.graph.store import GraphSchema, RelType
from twincore.services.support.cypher.guard import CypherRejectedError
from twincore.services.support.cypher.schema_check import check_schema_use

SCHEMA = GraphSchema(
    node_properties={
        "Order": {"orderID": "STRING", "shipCountry": "STRING"},
        "Shipper": {"companyName": "STRING"},
        "Customer": {"companyName": "STRING"},
    },
    relationships={
        "SHIPPED_BY": RelType("SHIPPED_BY", (("Order", "Shipper"),)),
        "PURCHASED": RelType("PURCHASED", (("Customer", "Order"),)),
    },
    rel_properties={},
)


def test_a_property_read_from_the_wrong_label_is_refused_with_what_it_has() -> None:
    q = "MATCH (o:Order)-[:SHIPPED_BY]->(s:Shipper) RETURN s.shipCountry, count(o)"
    with pytest.raises(CypherRejectedError, match=r"Shipper has no property 'shipCountry'"):
        check_schema_use(q, SCHEMA)


def test_a_hop_between_labels_the_type_never_joins_is_refused() -> None:
    q = "MATCH (o:Order)-[:PURCHASED]->(x:Order) RETURN o.orderID"
    with pytest.raises(CypherRejectedError, match=r"no PURCHASED relationship between :Order"):
        check_schema_use(q, SCHEMA)


def test_right_queries_strings_and_unlabelled_variables_pass() -> None:
    for q in (
        "MATCH (c:Customer)-[:PURCHASED]->(o:Order) RETURN c.companyName, o.shipCountry",
        "MATCH (o:Order) WITH o.shipCountry AS country RETURN country",
        "MATCH (s:Shipper {companyName: 'o.orderID x.y'}) RETURN s.companyName",
        "MATCH (o:Order)<-[:PURCHASED]-(c) RETURN c.anything",
        "MATCH (o:Order) RETURN toUpper(o.shipCountry), size(o.orderID)",
    ):
        check_schema_use(q, SCHEMA)
