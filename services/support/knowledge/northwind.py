"""Load the Northwind CSVs into the standard Neo4j Northwind graph model, typed, in batches."""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twincore.platform.graph.store import GraphError, GraphStore

# Ids stay strings: the text2cypher reference queries (Neo4j Northwind model) compare them so.
log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parents[1] / "data"
BATCH = 500

Caster = Callable[[str], Any]


def _int(v: str) -> int | None:
    return None if v in ("", "NULL") else int(v)


def _float(v: str) -> float | None:
    return None if v in ("", "NULL") else float(v)


def _str(v: str) -> str | None:
    return None if v in ("", "NULL") else v


def _date(v: str) -> str | None:
    # ISO date strings compare and sort correctly on both backends (no temporal types needed).
    return None if v in ("", "NULL") else v[:10]


def _bool(v: str) -> bool:
    return v.strip() in ("1", "true", "True")


@dataclass(frozen=True)
class NodeSpec:
    """One CSV → one label; `types` casts the columns that are not plain strings."""

    label: str
    file: str
    key: str
    types: dict[str, Caster] = field(default_factory=dict)
    drop: tuple[str, ...] = ()


NODES: tuple[NodeSpec, ...] = (
    NodeSpec("Category", "categories.csv", "categoryID", {"categoryID": _str}, ("picture",)),
    NodeSpec("Customer", "customers.csv", "customerID"),
    NodeSpec(
        "Employee",
        "employees.csv",
        "employeeID",
        {"employeeID": _str, "reportsTo": _str, "birthDate": _date, "hireDate": _date},
        ("photo", "photoPath", "notes"),
    ),
    NodeSpec(
        "Order",
        "orders.csv",
        "orderID",
        {
            "orderID": _str,
            "employeeID": _str,
            "shipVia": _str,
            "freight": _float,
            "orderDate": _date,
            "requiredDate": _date,
            "shippedDate": _date,
        },
    ),
    NodeSpec(
        "Product",
        "products.csv",
        "productID",
        {
            "productID": _str,
            "supplierID": _str,
            "categoryID": _str,
            "unitPrice": _float,
            "unitsInStock": _int,
            "unitsOnOrder": _int,
            "reorderLevel": _int,
            "discontinued": _bool,
        },
    ),
    NodeSpec("Shipper", "shippers.csv", "shipperID", {"shipperID": _str}),
    NodeSpec("Supplier", "suppliers.csv", "supplierID", {"supplierID": _str}),
)

# (name, cypher over a batch of rows); each matches both endpoints by indexed id.
RELATIONSHIPS: tuple[tuple[str, str, str], ...] = (
    (
        "PURCHASED",
        "orders.csv",
        "UNWIND $rows AS r MATCH (c:Customer {customerID: r.customerID}) "
        "MATCH (o:Order {orderID: r.orderID}) CREATE (c)-[:PURCHASED]->(o)",
    ),
    (
        "SOLD",
        "orders.csv",
        "UNWIND $rows AS r MATCH (e:Employee {employeeID: r.employeeID}) "
        "MATCH (o:Order {orderID: r.orderID}) CREATE (e)-[:SOLD]->(o)",
    ),
    (
        "SHIPPED_BY",
        "orders.csv",
        "UNWIND $rows AS r MATCH (o:Order {orderID: r.orderID}) "
        "MATCH (s:Shipper {shipperID: r.shipVia}) CREATE (o)-[:SHIPPED_BY]->(s)",
    ),
    (
        "ORDERS",
        "order-details.csv",
        "UNWIND $rows AS r MATCH (o:Order {orderID: r.orderID}) "
        "MATCH (p:Product {productID: r.productID}) CREATE (o)-[:ORDERS {quantity: r.quantity, "
        "unitPrice: r.unitPrice, discount: r.discount}]->(p)",
    ),
    (
        "PART_OF",
        "products.csv",
        "UNWIND $rows AS r MATCH (p:Product {productID: r.productID}) "
        "MATCH (c:Category {categoryID: r.categoryID}) CREATE (p)-[:PART_OF]->(c)",
    ),
    (
        "SUPPLIES",
        "products.csv",
        "UNWIND $rows AS r MATCH (s:Supplier {supplierID: r.supplierID}) "
        "MATCH (p:Product {productID: r.productID}) CREATE (s)-[:SUPPLIES]->(p)",
    ),
    (
        "REPORTS_TO",
        "employees.csv",
        "UNWIND $rows AS r MATCH (e:Employee {employeeID: r.employeeID}) "
        "MATCH (m:Employee {employeeID: r.reportsTo}) CREATE (e)-[:REPORTS_TO]->(m)",
    ),
)

DETAIL_TYPES: dict[str, Caster] = {
    "orderID": _str,
    "productID": _str,
    "unitPrice": _float,
    "quantity": _int,
    "discount": _float,
}


def repair_fields(fields: list[str], width: int) -> list[str]:
    """Rejoin values the export split at an unquoted comma (`67, rue des Cinquante Otages`).

    The Northwind CSVs do not quote addresses or names with commas, so such rows come out with
    too many fields and every later column shifted (shipCountry '44000'). A delimiter in these
    files is never followed by a space, a comma inside a value always is: a piece that starts
    with a space is glued back to the one before it until the row has the header's width.
    """
    out = list(fields)
    i = 1
    while len(out) > width and i < len(out):
        if out[i].startswith(" "):
            out[i - 1 : i + 1] = [out[i - 1] + "," + out[i]]
        else:
            i += 1
    if len(out) != width:
        raise ValueError(f"row has {len(fields)} fields, header has {width}: {fields[:3]}")
    return out


def read_csv(
    path: Path, types: dict[str, Caster], drop: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Rows with typed values; NULL/empty become absent (so no null properties are stored)."""
    out: list[dict[str, Any]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for fields in reader:
            row: dict[str, Any] = {}
            for key, value in zip(header, repair_fields(fields, len(header)), strict=True):
                if key in drop:
                    continue
                typed = types.get(key, _str)(value)
                if typed is not None:
                    row[key] = typed
            out.append(row)
    return out


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i : i + BATCH]


@dataclass
class LoadReport:
    nodes: dict[str, int]
    relationships: dict[str, int]
    seconds: float


def _types_for(file: str) -> dict[str, Caster]:
    if file == "order-details.csv":
        return DETAIL_TYPES
    return next(s.types for s in NODES if s.file == file)


def load_northwind(store: GraphStore, data_dir: Path = DATA_DIR) -> LoadReport:
    """Replace the graph with Northwind; returns counts read back from the graph and the time."""
    start = time.perf_counter()
    clear = getattr(store, "clear", None)
    if callable(clear):
        clear()
    for spec in NODES:
        # Indexes first so the relationship MATCHes by id are lookups, not scans.
        try:
            store.query(f"CREATE INDEX FOR (n:{spec.label}) ON (n.{spec.key})", read_only=False)
        except GraphError as exc:  # the index already exists on a reload
            log.debug("index on %s: %s", spec.label, exc)
        rows = read_csv(data_dir / spec.file, spec.types, spec.drop)
        for batch in _batches(rows):
            store.query(
                f"UNWIND $rows AS r CREATE (n:{spec.label}) SET n = r",
                {"rows": batch},
                read_only=False,
            )
    for _name, file, cypher in RELATIONSHIPS:
        rows = read_csv(data_dir / file, _types_for(file))
        for batch in _batches(rows):
            store.query(cypher, {"rows": batch}, read_only=False)
    seconds = time.perf_counter() - start
    return LoadReport(count_nodes(store), count_relationships(store), seconds)


def count_nodes(store: GraphStore) -> dict[str, int]:
    return {
        s.label: int(store.query(f"MATCH (n:{s.label}) RETURN count(n) AS c")[0]["c"])
        for s in NODES
    }


def count_relationships(store: GraphStore) -> dict[str, int]:
    return {
        name: int(store.query(f"MATCH ()-[r:{name}]->() RETURN count(r) AS c")[0]["c"])
        for name, _f, _c in RELATIONSHIPS
    }
