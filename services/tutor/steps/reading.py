"""Reading what a student typed: a problem into its verified worked solution, steps into text the
checker reads, or `Invalid` with one plain sentence saying why not.

Unreadable maths names the position and marks it (`positions.py`); a word problem typed where
maths is expected is told where word problems go. SymPy's own messages (`invalid syntax
(<string>, line 1)`, internals of a failed solve) never reach the student.
"""

from __future__ import annotations

import logging
import re
from tokenize import TokenError

import sympy  # type: ignore[import-untyped]

from twincore.platform.errors import Invalid
from twincore.services.tutor.solvers.dispatch import Solution
from twincore.services.tutor.solvers.dispatch import solve as solve_problem
from twincore.services.tutor.steps.grading import checker_steps
from twincore.services.tutor.steps.parsing import StepParseError, parse_step
from twincore.services.tutor.steps.positions import describe, locate

logger = logging.getLogger(__name__)

MAX_TEXT = 300
MAX_STEPS = 40
# SymPy cannot be interrupted on a worker thread: refuse inputs that make it work for minutes.
_HUGE_POWER = re.compile(r"(\^|\*\*)\s*\(?\s*-?\d{3,}")
_UNREADABLE = (ValueError, TypeError, SyntaxError, TokenError, sympy.SympifyError)
_WORD = re.compile(r"[A-Za-z]{3,}")
# Words a maths problem may hold; three or more other words read as prose.
_MATHS_WORDS = {
    "expand", "factor", "simplify", "derivative", "differentiate", "integrate", "integral",
    "lim", "limit", "from", "and", "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "exp",
    "log", "abs", "real", "solution", "solutions",
}  # fmt: skip
WORD_PROBLEM = (
    "this looks like a word problem: the step-by-step solver reads maths such as 3x + 7 = 22 "
    "(word problems are answered by the word-problem route, /v1/tutor/word)"
)


def guard(text: str, what: str) -> str:
    """`text` stripped, or `Invalid` when it is empty, too long or too costly to solve."""
    if not isinstance(text, str) or not text.strip():
        raise Invalid(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise Invalid(f"{what} is longer than {MAX_TEXT} characters")
    if _HUGE_POWER.search(text):
        raise Invalid(f"{what}: exponents above 99 are not supported")
    return text.strip()


def looks_like_prose(text: str) -> bool:
    """True when `text` holds three or more words no maths problem uses."""
    return sum(word.lower() not in _MATHS_WORDS for word in _WORD.findall(text)) >= 3


def _reason(error: BaseException) -> str:
    """The parser's own short reason (`invalid syntax`) when the error came from it."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, StepParseError) and cause.reason:
            return cause.reason
        cause = cause.__cause__
    return str(error) or type(error).__name__


def unreadable(text: str, error: BaseException) -> str:
    """Why `text` cannot be read: the position marked when it is found, else the message."""
    if locate(text) is None:
        return str(error) or type(error).__name__
    return describe(text, _reason(error))


def read_problem(text: str) -> Solution:
    """The verified worked solution of a problem, or `Invalid` saying why there is none."""
    text = guard(text, "the problem")
    try:
        return solve_problem(text)
    except _UNREADABLE as error:
        if looks_like_prose(text):
            raise Invalid(WORD_PROBLEM, param="problem") from error
        raise Invalid(unreadable(text, error), param="problem") from error
    except NotImplementedError as error:
        logger.info("SymPy cannot solve %r: %s", text, error)
        raise Invalid(
            f"{text!r}: the solver cannot do this kind of problem", param="problem"
        ) from error


def read_steps(steps: list[str]) -> list[str]:
    """The steps stripped, each readable by the checker, or `Invalid` naming the first bad one."""
    if len(steps) > MAX_STEPS:
        raise Invalid(f"at most {MAX_STEPS} steps", param="steps")
    cleaned = [guard(step, f"step {n}") for n, step in enumerate(steps, start=1)]
    for n, (step, readable) in enumerate(zip(cleaned, checker_steps(cleaned), strict=True), 1):
        try:
            parse_step(readable)
        except _UNREADABLE as error:
            raise Invalid(f"step {n}: {unreadable(step, error)}", param="steps") from error
    return cleaned
