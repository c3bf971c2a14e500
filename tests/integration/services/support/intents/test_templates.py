"""Template intents answer from the loaded Northwind graph; expected values come from the CSVs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.graph.store import GraphSchema
from twincore.services.support.answer import Answer
from twincore.services.support.intents.detect import IntentName, detect
from twincore.services.support.intents.linking import EntityLinker
from twincore.services.support.intents.templates import answer_intent
from twincore.services.support.knowledge.northwind import DATA_DIR, LoadReport


def _csv(name: str) -> list[dict[str, str]]:
    with (Path(DATA_DIR) / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def qa(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> tuple[FalkorDBStore, GraphSchema, EntityLinker]:
    store, _ = northwind
    return store, store.schema(), EntityLinker(store)


def _ask(qa: tuple[FalkorDBStore, GraphSchema, EntityLinker], question: str) -> Answer:
    store, schema, linker = qa
    intent = detect(question, linker.link(question))
    assert intent is not None, question
    return answer_intent(intent, store, schema)


def test_order_status_of_a_real_order(qa: tuple[FalkorDBStore, GraphSchema, EntityLinker]) -> None:
    order = next(o for o in _csv("orders.csv") if o["orderID"] == "10248")
    shipper = next(s for s in _csv("shippers.csv") if s["shipperID"] == order["shipVia"])
    ans = _ask(qa, "What is the status of my order 10248?")
    assert ans.intent == IntentName.ORDER_STATUS
    assert ans.resolved
    assert order["shippedDate"][:10] in ans.text
    assert shipper["companyName"] in ans.text
    assert "[1]" in ans.text
    assert [(c.label, c.key) for c in ans.citations] == [("Order", "10248")]
    assert ans.cypher is not None and "LIMIT" in ans.cypher


def test_product_supplier_with_a_misspelled_name(
    qa: tuple[FalkorDBStore, GraphSchema, EntityLinker],
) -> None:
    product = next(p for p in _csv("products.csv") if p["productName"] == "Chef Anton's Gumbo Mix")
    supplier = next(s for s in _csv("suppliers.csv") if s["supplierID"] == product["supplierID"])
    ans = _ask(qa, "who is the supplier of chef antons gumbo mx?")
    assert ans.intent == IntentName.SUPPLIER
    assert supplier["companyName"] in ans.text
    assert [(c.label, c.key) for c in ans.citations] == [("Supplier", supplier["supplierID"])]


def test_customer_last_order(qa: tuple[FalkorDBStore, GraphSchema, EntityLinker]) -> None:
    mine = [o for o in _csv("orders.csv") if o["customerID"] == "ALFKI"]
    last = max(mine, key=lambda o: (o["orderDate"], o["orderID"]))
    ans = _ask(qa, "What was the last order of Alfreds Futterkiste?")
    assert ans.intent == IntentName.LAST_ORDER
    assert last["orderID"] in ans.text and last["orderDate"][:10] in ans.text
    assert ans.citations[0].key == last["orderID"]


def test_product_price_and_stock(qa: tuple[FalkorDBStore, GraphSchema, EntityLinker]) -> None:
    chang = next(p for p in _csv("products.csv") if p["productName"] == "Chang")
    ans = _ask(qa, "How much does Chang cost and is it in stock?")
    assert ans.intent == IntentName.PRODUCT_INFO
    assert f"{float(chang['unitPrice']):.2f}" in ans.text
    assert f"{chang['unitsInStock']} units in stock" in ans.text


def test_unknown_order_says_not_found(qa: tuple[FalkorDBStore, GraphSchema, EntityLinker]) -> None:
    ans = _ask(qa, "Where is order 99999?")
    assert not ans.resolved
    assert "no order with id 99999" in ans.text
    assert ans.citations == [] and ans.rows == []


def test_known_issue_without_issue_data_is_refused_not_invented(
    qa: tuple[FalkorDBStore, GraphSchema, EntityLinker],
) -> None:
    # The Northwind load has no Issue nodes: the guard refuses the template, nothing is made up.
    ans = _ask(qa, "Is there a known problem with Chai?")
    assert ans.intent == IntentName.KNOWN_ISSUE
    assert not ans.resolved and ans.error is not None and "HAS_ISSUE" in ans.error
