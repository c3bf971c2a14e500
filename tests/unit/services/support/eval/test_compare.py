"""The rules `eval support` compares a generated result with the reference's by."""

from __future__ import annotations

import datetime as dt

from twincore.services.support.eval.compare import (
    is_ordered,
    normalise,
    same_entities,
    same_result,
)


def test_column_names_and_order_are_ignored() -> None:
    ref = [{"p.productName": "Chai", "p.unitPrice": 18.0}]
    gen = [{"price": 18, "name": "Chai"}]
    assert same_result(ref, gen, ordered=False)


def test_unordered_results_compare_as_multisets() -> None:
    ref = [{"n": "a"}, {"n": "b"}, {"n": "b"}]
    assert same_result(ref, [{"x": "b"}, {"x": "a"}, {"x": "b"}], ordered=False)
    # A missing duplicate is a different answer.
    assert not same_result(ref, [{"x": "a"}, {"x": "b"}], ordered=False)
    assert not same_result(ref, [{"x": "a"}, {"x": "b"}, {"x": "c"}], ordered=False)


def test_order_matters_only_when_the_reference_orders() -> None:
    ref = [{"n": "a"}, {"n": "b"}]
    swapped = [{"n": "b"}, {"n": "a"}]
    assert same_result(ref, swapped, ordered=False)
    assert not same_result(ref, swapped, ordered=True)
    assert same_result(ref, list(ref), ordered=True)


def test_numbers_are_rounded_and_ints_equal_floats() -> None:
    assert normalise(5) == normalise(5.0)
    assert same_result([{"avg": 28.866363636}], [{"a": 28.86636}], ordered=False)
    assert not same_result([{"avg": 28.87}], [{"a": 28.86}], ordered=False)


def test_nodes_compare_by_properties_not_labels() -> None:
    node = {"productID": "1", "productName": "Chai", "_labels": ["Product"]}
    same = {"productName": "Chai", "productID": "1"}
    other = {"productName": "Chang", "productID": "2", "_labels": ["Product"]}
    assert same_result([{"p": node}], [{"x": same}], ordered=False)
    assert not same_result([{"p": node}], [{"x": other}], ordered=False)
    # A node is not the same answer as one of its properties.
    assert not same_result([{"p": node}], [{"name": "Chai"}], ordered=False)


def test_lists_and_dates_are_normalised() -> None:
    assert normalise([1, "a"]) == (1.0, "a")
    assert normalise(dt.date(1996, 7, 4)) == "1996-07-04"
    assert normalise(True) is True and normalise(None) is None


def test_a_result_cut_by_the_guard_limit_must_be_contained() -> None:
    ref = [{"id": str(i)} for i in range(150)]
    cut = [{"x": str(i)} for i in range(100)]
    assert same_result(ref, cut, ordered=False, limit=100)
    wrong = [*cut[:99], {"x": "999"}]
    assert not same_result(ref, wrong, ordered=False, limit=100)
    # Ordered: the cut rows must be the reference's first rows.
    assert same_result(ref, cut, ordered=True, limit=100)
    assert not same_result(ref, list(reversed(cut)), ordered=True, limit=100)
    # No cut (fewer rows than the limit): the full comparison applies.
    assert not same_result(ref, cut[:50], ordered=False, limit=100)


def test_order_by_is_found_as_keywords_not_in_strings() -> None:
    assert is_ordered("MATCH (o:Order) RETURN o.orderID ORDER BY o.orderDate DESC LIMIT 3")
    assert is_ordered("match (o:Order) return o order\n  by o.freight")
    assert not is_ordered("MATCH (p:Product {productName: 'order by'}) RETURN p")
    assert not is_ordered("MATCH (o:Order) RETURN o.orderID")


def test_properties_may_stand_for_nodes_in_the_looser_score() -> None:
    chai = {"productID": "1", "productName": "Chai", "unitPrice": 18.0, "_labels": ["Product"]}
    chang = {"productID": "2", "productName": "Chang", "unitPrice": 19.0, "_labels": ["Product"]}
    ref = [{"p": chai}, {"p": chang}]
    names = [{"name": "Chang", "price": 19.0}, {"name": "Chai", "price": 18.0}]
    assert not same_result(ref, names, ordered=False)
    assert same_entities(ref, names, ordered=False)
    # Without an identifying property, or with a value no node holds, it does not count.
    assert not same_entities(ref, [{"price": 19.0}, {"price": 18.0}], ordered=False)
    assert not same_entities(
        ref, [{"name": "Chai", "x": 5}, {"name": "Chang", "x": 5}], ordered=False
    )
    # Rows missing or extra, or out of order when the reference orders: wrong.
    assert not same_entities(ref, names[:1], ordered=False)
    assert not same_entities(ref, names, ordered=True)
    # Plain reference values must be present as they are.
    counted = [{"p": chai, "orders": 3}]
    assert same_entities(counted, [{"n": "Chai", "c": 3}], ordered=False)
    assert not same_entities(counted, [{"n": "Chai", "c": 4}], ordered=False)
