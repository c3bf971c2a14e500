"""Unit tests for the LaTeX of worked steps (what the tutor screen renders with KaTeX): the same
maths as the plain text, joined the same way, fractions as fractions."""

from __future__ import annotations

import pytest

from twincore.services.tutor.solvers.dispatch import solve


@pytest.mark.parametrize(
    ("problem", "latex"),
    [
        ("3x + 7 = 22", ["3 x + 7 = 22", "3 x = 15", "x = 5"]),
        ("x/2 + 1 = 4", [r"\frac{x}{2} + 1 = 4", r"\frac{x}{2} = 3", "x = 6"]),
        # Unevaluated fraction steps read as fractions, not `1 \cdot \frac{1}{3}`.
        ("1/2 + 1/3", [r"\frac{1}{3} + \frac{1}{2}", r"\frac{2}{6} + \frac{3}{6}", r"\frac{5}{6}"]),
        ("2x - 3 < 7", ["2 x - 3 < 7", "2 x < 10", "x < 5"]),
    ],
)
def test_steps_in_latex(problem: str, latex: list[str]) -> None:
    assert [step.latex() for step in solve(problem).steps] == latex


def test_alternatives_systems_and_no_solution_are_joined_like_the_text() -> None:
    assert solve("x^2 - 5x + 6 = 0").steps[-1].latex() == r"x = 2 \quad\text{or}\quad x = 3"
    assert solve("2x + y = 5, x - y = 1").steps[-1].latex() == r"x = 2,\quad y = 1"
    assert solve("x^2 + 1 = 0").steps[-1].latex() == r"\text{no real solution}"
    product = solve("3/4 * 2/5").steps
    assert product[0].latex() == r"\frac{3}{4} \cdot \frac{2}{5}"  # a product stays a product
    derivative = solve("d/dx (x^3 + 2x)").steps
    assert derivative[0].latex().startswith(r"\frac{d}{d x}")
    assert derivative[-1].latex() == "3 x^{2} + 2"
