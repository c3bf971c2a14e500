"""Graded hints for the first wrong step: nudge, then method, then the solver's next step."""

from __future__ import annotations

from twincore.platform.errors import Invalid
from twincore.services.tutor.solvers.dispatch import detect, solve
from twincore.services.tutor.steps.checker import CheckReport, Verdict, check_steps

_NUDGES = {
    Verdict.NOT_EQUIVALENT: "Compare this step with the one before: do both sides still balance?",
    Verdict.LOST_SOLUTION: "You lost a solution: did you divide by zero or keep one root?",
    Verdict.EXTRANEOUS_ROOT: "A value here fails the previous step: squaring adds roots.",
    Verdict.ARITHMETIC_SLIP: "The method looks right; recheck the arithmetic in this step.",
    Verdict.UNREADABLE: "I could not read that step; write it like `3x + 7 = 22`.",
}
_METHODS = {
    "linear": "Do the same to both sides: x terms on one side, constants on the other; divide.",
    "inequality": "Solve it like an equation, but flip the sign when you divide by a negative.",
    "quadratic": "Move everything to one side; factor if you can, else use the quadratic formula.",
    "system": "Solve one equation for one variable and substitute it into the other.",
    "polynomial": "Multiply out term by term, or look for common factors and known patterns.",
    "fraction": "Use a common denominator to add or subtract; multiply straight across.",
    "derivative": "Apply one rule at a time: sum, constant multiple, power, product, chain.",
    "integral": "Split the sum, pull out constants, then use the power rule term by term.",
    "limit": "Try substituting first; if you get 0/0, factor and cancel.",
    "radical": "Isolate the root, square both sides, then check every root in the original.",
}


def hint(problem: str, steps: list[str], level: int, *, report: CheckReport | None = None) -> str:
    """Hint at `level` (1 nudge, 2 method, 3 the solver's next step) for the work so far;
    `report` is the check of `steps` when the caller has it (else they are checked here)."""
    if level not in (1, 2, 3):
        raise Invalid("hint level must be 1 (nudge), 2 (method) or 3 (next step)", param="level")
    if report is None:
        report = check_steps(problem, steps)
    wrong = report.first_wrong
    if level == 1:
        return _NUDGES[wrong.verdict] if wrong else "So far so good: what is the next step?"
    if level == 2:
        return _METHODS[detect(problem)]
    solved = solve(problem).steps
    correct_so_far = len(report.steps) - (1 if wrong else 0)
    index = min(correct_so_far + 1, len(solved) - 1)
    written = {step.text for step in report.steps}
    # Skip solver steps the student already wrote (after squaring, the missing step is the
    # root check, not the squaring itself).
    while index < len(solved) - 1 and solved[index].text() in written:
        index += 1
    step = solved[index]
    return f"Next step: {step.text()} ({step.reason})"
