"""Cypher templates for the support intents, and answers written only from the rows they return.

Every template still goes through `cypher.guard.validate` (read-only, schema, LIMIT), so a graph
without e.g. Issue nodes refuses the known-issue template instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twincore.platform.graph.store import GraphError, GraphSchema, GraphStore, GraphUnavailable
from twincore.services.support.answer import Answer, Citation
from twincore.services.support.cypher.guard import CypherRejectedError, validate
from twincore.services.support.intents.detect import Intent, IntentName

Row = dict[str, Any]
Writer = Callable[[list[Row], list[Citation]], str]


@dataclass(frozen=True)
class Template:
    """The query, the column naming the cited node, and how rows become sentences."""

    cypher: str
    cite_label: str
    cite_key: str
    write: Writer
    not_found: str


def _cite(rows: list[Row], label: str, key: str) -> list[Citation]:
    return [Citation(i + 1, label, str(r.get(key))) for i, r in enumerate(rows)]


def _money(v: Any) -> str:
    return f"{float(v):.2f}" if v is not None else "unknown"


def _order_status(rows: list[Row], cites: list[Citation]) -> str:
    r = rows[0]
    head = f"Order {r['orderID']} was placed on {r['orderDate']}"
    if r.get("customer"):
        head += f" by {r['customer']}"
    if r.get("shippedDate"):
        via = f" with {r['shipper']}" if r.get("shipper") else ""
        body = f"; it shipped on {r['shippedDate']}{via}"
    else:
        body = f"; it has not shipped yet (required by {r['requiredDate']})"
    return f"{head}{body} [{cites[0].index}]."


def _shipping(rows: list[Row], cites: list[Citation]) -> str:
    r = rows[0]
    place = ", ".join(
        str(r[k]) for k in ("shipAddress", "shipCity", "shipPostalCode", "shipCountry") if r.get(k)
    )
    via = f" by {r['shipper']}" if r.get("shipper") else ""
    when = f"shipped on {r['shippedDate']}" if r.get("shippedDate") else "not shipped yet"
    return (
        f"Order {r['orderID']} goes to {r['shipName']}, {place}{via} "
        f"(freight {_money(r.get('freight'))}; {when}) [{cites[0].index}]."
    )


def _product_info(rows: list[Row], cites: list[Citation]) -> str:
    r = rows[0]
    stock = int(r.get("unitsInStock") or 0)
    avail = f"{stock} units in stock" if stock > 0 else "out of stock"
    if r.get("unitsOnOrder"):
        avail += f", {r['unitsOnOrder']} on order"
    if r.get("discontinued"):
        avail += "; discontinued"
    return (
        f"{r['productName']} ({r.get('quantityPerUnit') or 'unit size unknown'}) costs "
        f"{_money(r.get('unitPrice'))} per unit: {avail} [{cites[0].index}]."
    )


def _supplier(rows: list[Row], cites: list[Citation]) -> str:
    parts = [
        f"{r['supplier']} ({r.get('country') or 'country unknown'}, phone "
        f"{r.get('phone') or 'unknown'}) [{c.index}]"
        for r, c in zip(rows, cites, strict=True)
    ]
    return f"{rows[0]['productName']} is supplied by " + "; ".join(parts) + "."


def _last_order(rows: list[Row], cites: list[Citation]) -> str:
    r = rows[0]
    shipped = f"shipped {r['shippedDate']}" if r.get("shippedDate") else "not shipped yet"
    return (
        f"The last order of {r['customer']} is {r['orderID']} placed on {r['orderDate']} "
        f"({shipped}) [{cites[0].index}]."
    )


def _history(rows: list[Row], cites: list[Citation]) -> str:
    items = [
        f"{r['orderID']} on {r['orderDate']} [{c.index}]" for r, c in zip(rows, cites, strict=True)
    ]
    return f"Most recent orders of {rows[0]['customer']}: " + ", ".join(items) + "."


def _known_issue(rows: list[Row], cites: list[Citation]) -> str:
    items = [
        f"{r['issue']}: {r.get('solution') or 'no solution recorded yet'} [{c.index}]"
        for r, c in zip(rows, cites, strict=True)
    ]
    return f"Known issues of {rows[0]['productName']}: " + "; ".join(items) + "."


_ORDER_CORE = (
    "MATCH (o:Order {orderID: $orderID}) "
    "OPTIONAL MATCH (o)-[:SHIPPED_BY]->(s:Shipper) "
    "OPTIONAL MATCH (c:Customer)-[:PURCHASED]->(o) "
)

TEMPLATES: dict[IntentName, Template] = {
    IntentName.ORDER_STATUS: Template(
        _ORDER_CORE + "RETURN o.orderID AS orderID, o.orderDate AS orderDate, "
        "o.requiredDate AS requiredDate, o.shippedDate AS shippedDate, "
        "s.companyName AS shipper, c.companyName AS customer LIMIT 1",
        "Order",
        "orderID",
        _order_status,
        "I found no order with id {orderID}.",
    ),
    IntentName.SHIPPING: Template(
        _ORDER_CORE + "RETURN o.orderID AS orderID, o.shipName AS shipName, "
        "o.shipAddress AS shipAddress, o.shipCity AS shipCity, "
        "o.shipPostalCode AS shipPostalCode, o.shipCountry AS shipCountry, "
        "o.freight AS freight, o.shippedDate AS shippedDate, s.companyName AS shipper LIMIT 1",
        "Order",
        "orderID",
        _shipping,
        "I found no order with id {orderID}.",
    ),
    IntentName.PRODUCT_INFO: Template(
        "MATCH (p:Product {productID: $productID}) RETURN p.productID AS productID, "
        "p.productName AS productName, p.unitPrice AS unitPrice, "
        "p.unitsInStock AS unitsInStock, p.unitsOnOrder AS unitsOnOrder, "
        "p.quantityPerUnit AS quantityPerUnit, p.discontinued AS discontinued LIMIT 1",
        "Product",
        "productID",
        _product_info,
        "I found no product with id {productID}.",
    ),
    IntentName.SUPPLIER: Template(
        "MATCH (s:Supplier)-[:SUPPLIES]->(p:Product {productID: $productID}) "
        "RETURN s.supplierID AS supplierID, s.companyName AS supplier, s.country AS country, "
        "s.phone AS phone, p.productName AS productName LIMIT 5",
        "Supplier",
        "supplierID",
        _supplier,
        "I found no supplier recorded for product {productID}.",
    ),
    IntentName.LAST_ORDER: Template(
        "MATCH (c:Customer {customerID: $customerID})-[:PURCHASED]->(o:Order) "
        "RETURN o.orderID AS orderID, o.orderDate AS orderDate, o.shippedDate AS shippedDate, "
        "c.companyName AS customer ORDER BY o.orderDate DESC, o.orderID DESC LIMIT 1",
        "Order",
        "orderID",
        _last_order,
        "I found no orders for customer {customerID}.",
    ),
    IntentName.HISTORY: Template(
        "MATCH (c:Customer {customerID: $customerID})-[:PURCHASED]->(o:Order) "
        "RETURN o.orderID AS orderID, o.orderDate AS orderDate, c.companyName AS customer "
        "ORDER BY o.orderDate DESC, o.orderID DESC LIMIT 10",
        "Order",
        "orderID",
        _history,
        "I found no orders for customer {customerID}.",
    ),
    IntentName.KNOWN_ISSUE: Template(
        "MATCH (p:Product {productID: $productID})-[:HAS_ISSUE]->(i:Issue) "
        "OPTIONAL MATCH (i)-[:SOLVED_BY]->(s:Solution) "
        "RETURN i.issueID AS issueID, i.title AS issue, s.text AS solution, "
        "p.productName AS productName LIMIT 10",
        "Issue",
        "issueID",
        _known_issue,
        "I found no known issue recorded for product {productID}.",
    ),
}


def answer_intent(intent: Intent, store: GraphStore, schema: GraphSchema) -> Answer:
    """Validate and run the intent's template; write the answer from its rows or say not found."""
    tpl = TEMPLATES[intent.name]
    not_found = tpl.not_found.format(**intent.params)
    try:
        checked = validate(tpl.cypher, schema)
    except CypherRejectedError as exc:
        # The graph lacks what the template needs (e.g. no Issue nodes loaded): nothing to cite.
        return Answer(
            f"{not_found} (the graph holds no data of this kind)",
            intent.name.value,
            False,
            tpl.cypher,
            dict(intent.params),
            error=str(exc),
        )
    try:
        rows = store.query(checked.cypher, dict(intent.params))
    except GraphUnavailable:
        raise  # the graph is down, not the query wrong: the request answers 503
    except GraphError as exc:
        return Answer(
            f"The lookup failed: {exc}",
            intent.name.value,
            False,
            checked.cypher,
            dict(intent.params),
            error=str(exc),
        )
    if not rows:
        return Answer(not_found, intent.name.value, False, checked.cypher, dict(intent.params))
    cites = _cite(rows, tpl.cite_label, tpl.cite_key)
    return Answer(
        tpl.write(rows, cites),
        intent.name.value,
        True,
        checked.cypher,
        dict(intent.params),
        rows,
        cites,
    )
