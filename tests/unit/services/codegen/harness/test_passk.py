"""The unbiased pass@k estimator against its closed form and edge cases."""

from __future__ import annotations

from math import comb

import pytest

from twincore.services.codegen.harness.passk import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(("n", "c", "k"), [(10, 3, 1), (10, 3, 5), (20, 0, 10), (200, 17, 10)])
def test_matches_the_closed_form(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k))


def test_edges() -> None:
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_at_k(10, 8, 3) == 1.0  # fewer than k failures: some pick always passes
    assert pass_at_k(1, 1, 1) == 1.0


def test_pass_at_1_is_the_fraction_correct() -> None:
    assert pass_at_k(10, 4, 1) == pytest.approx(0.4)
    assert mean_pass_at_k([(1, 1), (1, 0), (10, 5)], 1) == pytest.approx((1 + 0 + 0.5) / 3)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 10 samples"):
        pass_at_k(5, 1, 10)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        mean_pass_at_k([], 1)
