"""The checker's entity-binding and shape rules on hand-written questions: a query that binds
every entity the question names passes, one that ignores one is rejected with a reason naming
it; a "which" question answered by a bare count is rejected, a "how many" one is not."""

from __future__ import annotations

import pytest

from twincore.services.support.cypher.verify import (
    binding_reason,
    literals,
    shape_reason,
    unbound,
)
from twincore.services.support.intents.mentions import Mention

EXOTIC = Mention("supplier", "Supplier", "companyName", "Exotic Liquids", "1")
CHAI = Mention("product", "Product", "productName", "Chai", "1")
GERMANY = Mention("country", "Customer", "country", "Germany")
ALFKI = Mention(
    "customer", "Customer", "companyName", "Alfreds Futterkiste", "ALFKI", ("Maria Anders",)
)
ORDER = Mention("order", "Order", "orderID", "10248")
SEAFOOD = Mention("category", "Category", "categoryName", "Seafood", "8")
SPEEDY = Mention("shipper", "Shipper", "companyName", "Speedy Express", "1")
NANCY = Mention("employee", "Employee", "lastName", "Nancy Davolio", "1")
LONDON = Mention("city", "Customer", "city", "London")
CABRAS = Mention("supplier", "Supplier", "companyName", "Cooperativa de Quesos 'Las Cabras'", "5")

# (question, the entities it names, a query that binds them all, a query that drops `dropped`)
CASES = [
    (
        "Which products does supplier Exotic Liquids supply?",
        [EXOTIC],
        "MATCH (s:Supplier {companyName: 'Exotic Liquids'})-[:SUPPLIES]->(p:Product) "
        "RETURN p.productName",
        "MATCH (s:Supplier)-[:SUPPLIES]->(p:Product) RETURN count(p)",
        EXOTIC,
    ),
    (
        "Which customers in Germany ordered Chai?",
        [CHAI, GERMANY],
        "MATCH (c:Customer)-[:PURCHASED]->(:Order)-[:ORDERS]->(p:Product) "
        "WHERE c.country = 'Germany' AND p.productName = 'Chai' RETURN DISTINCT c.companyName",
        "MATCH (c:Customer)-[:PURCHASED]->(:Order)-[:ORDERS]->(p:Product {productName: 'Chai'}) "
        "RETURN DISTINCT c.companyName",
        GERMANY,
    ),
    (
        "What did Alfreds Futterkiste order last?",
        [ALFKI],
        # The customer's id binds the customer as well as its name.
        "MATCH (c:Customer {customerID: 'ALFKI'})-[:PURCHASED]->(o:Order) "
        "RETURN o.orderID ORDER BY o.orderDate DESC LIMIT 1",
        "MATCH (c:Customer)-[:PURCHASED]->(o:Order) RETURN o.orderID "
        "ORDER BY o.orderDate DESC LIMIT 1",
        ALFKI,
    ),
    (
        "When did order 10248 ship?",
        [ORDER],
        "MATCH (o:Order) WHERE o.orderID = '10248' RETURN o.shippedDate",
        "MATCH (o:Order) RETURN o.shippedDate ORDER BY o.orderDate LIMIT 1",
        ORDER,
    ),
    (
        "List the seafood products that cost more than 20.",
        [SEAFOOD],
        # Case and a partial CONTAINS still name the category.
        "MATCH (p:Product)-[:PART_OF]->(c:Category) WHERE toLower(c.categoryName) CONTAINS "
        "'seafood' AND p.unitPrice > 20 RETURN p.productName",
        "MATCH (p:Product) WHERE p.unitPrice > 20 RETURN p.productName",
        SEAFOOD,
    ),
    (
        "How many orders did Speedy Express ship to London?",
        [SPEEDY, LONDON],
        "MATCH (o:Order {shipCity: 'London'})-[:SHIPPED_BY]->(s:Shipper "
        "{companyName: 'Speedy Express'}) RETURN count(o)",
        "MATCH (o:Order {shipCity: 'London'})-[:SHIPPED_BY]->(s:Shipper) RETURN count(o)",
        SPEEDY,
    ),
    (
        "Which orders did Nancy Davolio sell?",
        [NANCY],
        # First and last name matched apart bind the employee.
        "MATCH (e:Employee)-[:SOLD]->(o:Order) WHERE e.firstName = 'Nancy' AND "
        "e.lastName = 'Davolio' RETURN o.orderID",
        "MATCH (e:Employee)-[:SOLD]->(o:Order) RETURN o.orderID, e.lastName",
        NANCY,
    ),
    (
        "Which customers are based in London?",
        [LONDON],
        "MATCH (c:Customer) WHERE c.city = $city RETURN c.companyName",
        "MATCH (c:Customer) RETURN c.companyName LIMIT 10",
        LONDON,
    ),
    (
        "What does Cooperativa de Quesos 'Las Cabras' supply?",
        [CABRAS],
        "MATCH (s:Supplier {companyName: \"Cooperativa de Quesos 'Las Cabras'\"})-[:SUPPLIES]->"
        "(p:Product) RETURN p.productName",
        "MATCH (s:Supplier)-[:SUPPLIES]->(p:Product) RETURN p.productName",
        CABRAS,
    ),
    (
        "Which products has Maria Anders bought?",
        [ALFKI],
        # The contact's name is an alias of the customer.
        "MATCH (c:Customer {contactName: 'Maria Anders'})-[:PURCHASED]->(:Order)-[:ORDERS]->"
        "(p:Product) RETURN DISTINCT p.productName",
        "MATCH (c:Customer)-[:PURCHASED]->(:Order)-[:ORDERS]->(p:Product) "
        "RETURN DISTINCT p.productName LIMIT 1",
        ALFKI,
    ),
]


@pytest.mark.parametrize(("question", "mentions", "binds", "ignores", "dropped"), CASES)
def test_binding_is_required_for_every_named_entity(
    question: str, mentions: list[Mention], binds: str, ignores: str, dropped: Mention
) -> None:
    params = {"city": "London"} if "$city" in binds else None
    assert unbound(mentions, binds, params) == [], question
    assert unbound(mentions, ignores) == [dropped], question
    reason = binding_reason(dropped)
    assert f"'{dropped.value}'" in reason and dropped.kind in reason


def test_limit_and_small_numbers_bind_nothing() -> None:
    # Product 1 is Chai: `LIMIT 1` or a threshold of 1 must not count as naming it.
    assert literals("MATCH (p:Product) WHERE p.unitsInStock > 1 RETURN p LIMIT 1") == []
    assert unbound([CHAI], "MATCH (p:Product) RETURN p.unitPrice LIMIT 1") == [CHAI]
    assert literals("MATCH (o:Order) WHERE o.orderID = 10248 RETURN o") == ["10248"]


def test_a_which_question_is_not_answered_by_a_count() -> None:
    counted = (
        "MATCH (s:Supplier {companyName: 'Exotic Liquids'})-[:SUPPLIES]->(p:Product) "
        "RETURN count(p) AS products LIMIT 100"
    )
    reason = shape_reason("Which products does supplier Exotic Liquids supply?", counted)
    assert reason is not None and "count" in reason
    assert shape_reason("How many products does Exotic Liquids supply?", counted) is None
    listed = counted.replace("count(p) AS products", "p.productName, count(*) AS n")
    assert shape_reason("Which products does Exotic Liquids supply?", listed) is None
    # 'count(' inside a string is data, not the RETURN's aggregate.
    named = "MATCH (p:Product) WHERE p.productName = 'count(' RETURN p.productName"
    assert shape_reason("Which product is named so?", named) is None
