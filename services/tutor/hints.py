"""Graded hints for the first wrong step: nudge, then method, then the solver's next step."""

from __future__ import annotations

from twincore.services.tutor.checker import Verdict, check_steps
from twincore.services.tutor.solvers.linear import solve_linear

_NUDGES = {
    Verdict.NOT_EQUIVALENT: "Compare this step with the one before: do both sides still balance?",
    Verdict.LOST_SOLUTION: "You lost a solution: did you divide by zero or keep one root?",
    Verdict.EXTRANEOUS_ROOT: "A value here fails the previous step: squaring adds roots.",
    Verdict.ARITHMETIC_SLIP: "The method looks right; recheck the arithmetic in this step.",
    Verdict.UNREADABLE: "I could not read that step; write it like `3x + 7 = 22`.",
}
_METHOD = "Do the same to both sides: x terms on one side, constants on the other, then divide."


def hint(problem: str, steps: list[str], level: int) -> str:
    """Hint at `level` (1 nudge, 2 method, 3 the solver's next step) for the work so far."""
    if level not in (1, 2, 3):
        raise ValueError("hint level must be 1 (nudge), 2 (method) or 3 (next step)")
    report = check_steps(problem, steps)
    wrong = report.first_wrong
    if level == 1:
        return (
            _NUDGES[wrong.verdict] if wrong else "So far so good: what operation gets x alone next?"
        )
    if level == 2:
        return _METHOD
    solved = solve_linear(problem)
    correct_so_far = len(report.steps) - (1 if wrong else 0)
    index = min(correct_so_far + 1, len(solved) - 1)
    step = solved[index]
    return f"Next step: {step.equation.lhs} = {step.equation.rhs} ({step.reason})"
