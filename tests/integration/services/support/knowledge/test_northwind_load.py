"""Northwind loads into the standard graph model with the counts the CSVs imply."""

from __future__ import annotations

import csv
from pathlib import Path

from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.services.support.knowledge.northwind import DATA_DIR, NODES, LoadReport


def _rows(name: str) -> list[dict[str, str]]:
    with (Path(DATA_DIR) / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_node_counts_match_csvs(northwind: tuple[FalkorDBStore, LoadReport]) -> None:
    _store, report = northwind
    expected = {spec.label: len(_rows(spec.file)) for spec in NODES}
    assert report.nodes == expected
    assert sum(report.nodes.values()) == 1047


def test_relationship_counts_match_csvs(northwind: tuple[FalkorDBStore, LoadReport]) -> None:
    _store, report = northwind
    orders, details = _rows("orders.csv"), _rows("order-details.csv")
    products, employees = _rows("products.csv"), _rows("employees.csv")
    assert report.relationships == {
        "PURCHASED": len(orders),
        "SOLD": len(orders),
        "SHIPPED_BY": len(orders),
        "ORDERS": len(details),
        "PART_OF": len(products),
        "SUPPLIES": len(products),
        "REPORTS_TO": sum(1 for e in employees if e["reportsTo"] not in ("", "NULL")),
    }


def test_properties_are_typed(northwind: tuple[FalkorDBStore, LoadReport]) -> None:
    store, _ = northwind
    rows = store.query(
        "MATCH (c:Customer)-[:PURCHASED]->(o:Order {orderID: '10248'})-[d:ORDERS]->(p:Product) "
        "RETURN c.customerID AS c, o.shippedDate AS shipped, o.freight AS freight, "
        "d.quantity AS q, p.discontinued AS disc ORDER BY q LIMIT 1"
    )
    assert rows[0]["c"] == "VINET" and rows[0]["shipped"] == "1996-07-16"
    assert isinstance(rows[0]["freight"], float) and isinstance(rows[0]["q"], int)
    assert isinstance(rows[0]["disc"], bool)
