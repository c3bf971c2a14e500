"""Execution-guided choice: the candidate that got furthest through the checker wins; among
accepted ones the result most of them agree on, then the earliest."""

from __future__ import annotations

import pytest

from twincore.platform.router.escalation import Verdict
from twincore.services.support.cypher.choice import choose, result_key
from twincore.services.support.cypher.verify import Checked

REFUSED = Checked("MATCH (p:Germany) RETURN p", Verdict(False, ("not allowed",)), stage=0)
UNBOUND = Checked("MATCH (p:Product) RETURN p", Verdict(False, ("unbound",)), stage=1)
EMPTY = Checked("MATCH (p:Product {productName: 'x'}) RETURN p", Verdict(False, ("no rows",)),
                ran=True, stage=3)  # fmt: skip


def _accepted(cypher: str, *names: str) -> Checked:
    rows = [{"name": n} for n in names]
    return Checked(cypher, Verdict(True, ("rows",)), rows, ran=True, stage=4)


def test_the_candidate_that_runs_binds_and_returns_rows_wins() -> None:
    good = _accepted("MATCH ... RETURN p.productName", "Chai")
    assert choose([REFUSED, UNBOUND, good, EMPTY]) == 2
    assert choose([REFUSED, EMPTY, UNBOUND]) == 1  # ran, though without rows
    assert choose([REFUSED, UNBOUND]) == 1
    assert choose([REFUSED]) == 0


def test_accepted_candidates_vote_by_result_then_the_first_wins() -> None:
    a = _accepted("q1", "Chai", "Chang")
    b = _accepted("q2", "Tofu")
    c = _accepted("q3", "Chang", "Chai")  # the same rows as a, in another order
    assert choose([b, a, c]) == 1
    assert choose([a, b]) == 0
    assert choose([b, a]) == 0


def test_result_keys_ignore_column_names_and_row_order() -> None:
    assert result_key([{"a": 1}, {"a": 2}]) == result_key([{"b": 2}, {"b": 1}])
    assert result_key([{"a": 1}]) != result_key([{"a": 1.5}])
    with pytest.raises(ValueError):
        choose([])
