"""The Northwind CSVs' unquoted commas are repaired before typing (shifted columns otherwise)."""

from __future__ import annotations

import pytest

from twincore.services.support.knowledge.northwind import DATA_DIR, NODES, read_csv, repair_fields


def test_a_comma_followed_by_a_space_is_part_of_the_value() -> None:
    line = "10311,Du monde entier,67, rue des Cinquante Otages,Nantes,NULL,44000,France"
    fields = line.split(",")
    fixed = repair_fields(fields, 7)
    assert fixed[2] == "67, rue des Cinquante Otages" and fixed[-1] == "France"
    assert repair_fields(["a", "b"], 2) == ["a", "b"]


def test_a_row_that_cannot_be_repaired_is_refused() -> None:
    with pytest.raises(ValueError, match="header has 2"):
        repair_fields(["a", "b", "c"], 2)


def test_every_shipped_row_has_its_country_in_place() -> None:
    spec = {s.label: s for s in NODES}
    orders = read_csv(DATA_DIR / "orders.csv", spec["Order"].types)
    suppliers = read_csv(DATA_DIR / "suppliers.csv", spec["Supplier"].types)
    assert len(orders) == 830 and len(suppliers) == 29
    # Before the repair 176 orders had a postal code as shipCountry and a `None` column.
    assert all(None not in row for row in orders + suppliers)
    assert len({o["shipCountry"] for o in orders}) == 21
    assert all(not any(ch.isdigit() for ch in o["shipCountry"]) for o in orders)
    pavlova = next(s for s in suppliers if s["supplierID"] == "7")
    assert pavlova["companyName"] == "Pavlova, Ltd." and pavlova["country"] == "Australia"
