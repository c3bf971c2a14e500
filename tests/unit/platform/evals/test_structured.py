"""`eval structured`'s checker: parse, validate with formats, say where an object breaks."""

from __future__ import annotations

import json

import pytest

from twincore.model_core.engine.constraint import Constraint
from twincore.platform.evals.structured import SCHEMAS, StructuredObject, check, summary


def schema(name: str) -> dict[str, object]:
    return next(s for n, _, s in SCHEMAS if n == name)


def test_check_accepts_a_valid_object_and_names_what_breaks_one() -> None:
    good = {"account": "C48", "pattern": "structuring", "transactions": 9, "risk": 0.9}
    assert check(json.dumps(good), schema("alert")) == ""
    assert "risk" in check(json.dumps({**good, "risk": 3}), schema("alert"))
    assert "pattern" in check(json.dumps({**good, "pattern": "smurfing"}), schema("alert"))
    assert check('{"account": "C48"', schema("alert")).startswith("not JSON")


def test_formats_are_checked() -> None:
    event = {"title": "Sync", "date": "2026-13-45", "time": "10:00", "attendees": ["A"],
             "online": True}  # fmt: skip
    assert "date" in check(json.dumps(event), schema("event"))
    assert check(json.dumps({**event, "date": "2026-12-08"}), schema("event")) == ""


@pytest.mark.parametrize(("name", "_prompt", "shape"), SCHEMAS)
def test_every_schema_is_a_constraint_without_data_problems(
    name: str, _prompt: str, shape: dict[str, object]
) -> None:
    assert Constraint.json_schema(shape).problems() == []


def test_summary_counts_valid_objects_per_schema() -> None:
    made = [
        StructuredObject(0, "swift", "alert", True, "stop", 30, "", "{}"),
        StructuredObject(1, "swift", "alert", False, "length", 256, "not JSON", "{"),
        StructuredObject(2, "swift", "event", True, "stop", 40, "", "{}"),
    ]
    result = summary(made)
    assert result["valid"] == 2 and result["valid_rate"] == pytest.approx(2 / 3)
    assert result["by_schema"]["alert"] == 0.5 and result["by_schema"]["event"] == 1.0
    assert result["finish_reasons"] == {"stop": 2, "length": 1}
    assert [f["index"] for f in result["failures"]] == [1]
