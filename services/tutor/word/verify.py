"""The word-problem checker: whether a candidate set's answer stands (program ran, SymPy checks,
a majority agrees).

A set passes when the voted answer
- came from a program that ran in the sandbox (or, in direct mode, a reply ending on a number);
- is held by a strict majority of the candidates asked (a candidate that failed counts against
  it, so one candidate passes alone, two must agree, three need two, four need three);
- passes SymPy's checks of what the question asks for: an answer to "how many <things>" is a
  whole, non-negative number (units of measure such as hours or dollars may be fractions);
- (program-aided) comes from a program that uses every number the question gives: a program
  that drops one has not read the problem (`3 apples, buys 4 more` answered by `answer = 4`).
  A percentage may be written as a fraction (`25%` as `0.25`), a fraction by its value.

The reasons say what went wrong in plain sentences; a repair turn or the screen shows them.
"""

from __future__ import annotations

import re
from fractions import Fraction

import sympy  # type: ignore[import-untyped]

from twincore.platform.router.escalation import Verdict
from twincore.services.tutor.word.problems import WordCandidate, WordSolution

MEASURE = re.compile(
    r"(?:hour|minute|second|day|week|month|year|mile|km|cm|mm|(?:kilo|centi|milli)?met(?:er|re)"
    r"|inch(?:e)?|yard|pound|lb|ounce|oz|kilogram|kg|gram|ton|acre|(?:milli)?lit(?:er|re)|ml"
    r"|gallon|quart|pint|cup|dollar|cent|degree)s?|feet|foot|percent|times|square|cubic|mph"
)
"""Units of measure: "how many hours" may be answered by 2.5."""
_HOW_MANY = re.compile(
    r"\bhow\s+many\s+(?:(?:more|fewer|less|total|additional|extra)\s+)?([a-z][a-z-]*)",
    re.IGNORECASE,
)
MAX_ERROR_CHARS = 160
_GIVEN = re.compile(
    r"(?<![\w.,/])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*/\s*(\d+))?(\s*%)?(?![\w/])"
)
"""A number the question gives: `1,200`, `2.5`, `3/4`, `25%` (not `1st` nor a word's digits)."""
IMPLICIT = frozenset({Fraction(0), Fraction(1)})
"""Numbers a right program may leave out (`1 box of 12`: times one is not written)."""
_LITERAL = re.compile(r"(?<![\w.])(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?![\w.])")


def counted_things(question: str) -> str | None:
    """The last "how many <noun>" of `question` when it counts things (not hours, dollars or
    other measures); None otherwise."""
    matches = list(_HOW_MANY.finditer(question))
    if not matches:
        return None
    noun = matches[-1].group(1).lower()
    return None if MEASURE.fullmatch(noun) else " ".join(matches[-1].group(0).lower().split())


def answer_problem(answer: str, question: str) -> str | None:
    """Why `answer` cannot answer `question` (SymPy's reading), or None when it can."""
    value = sympy.Rational(answer)
    things = counted_things(question)
    if things is None:
        return None
    if not value.is_integer:
        return f'the question asks "{things}" but the answer {answer} is not a whole number'
    if value.is_negative:
        return f'the question asks "{things}" but the answer {answer} is negative'
    return None


def given_numbers(question: str) -> list[tuple[str, frozenset[Fraction]]]:
    """Each number the question gives, with the values a program may write it as."""
    given = []
    for match in _GIVEN.finditer(question):
        whole, decimals, denominator, percent = match.groups()
        value = Fraction(whole.replace(",", "") + (decimals or ""))
        forms = {value}
        if denominator is not None and int(denominator) != 0:
            forms = {value / int(denominator)}
            if value in (0, 1):  # `1/4` may be written `1 / 4`: the denominator shows it
                forms.add(Fraction(int(denominator)))
        if percent:
            forms |= {form / 100 for form in forms}
        if not forms & IMPLICIT:
            given.append((match.group(0).strip(), frozenset(forms)))
    return given


def program_numbers(code: str) -> set[Fraction]:
    """The numeric literals of a program (`1_000` too), and their quotients when written
    `a / b`, so `3 / 4` stands for 0.75."""
    literals = [
        Fraction(token.replace("_", "").rstrip(".") or "0") for token in _LITERAL.findall(code)
    ]
    values = set(literals)
    for a, b in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)(?![\w.])", code):
        if Fraction(b) != 0:
            values.add(Fraction(a) / Fraction(b))
    return values


def unused_numbers(question: str, code: str) -> list[str]:
    """The numbers `question` gives that the program `code` never writes."""
    written = program_numbers(code)
    return [text for text, forms in given_numbers(question) if not forms & written]


def _failure(candidate: WordCandidate) -> str:
    why = candidate.error or candidate.status
    return f"candidate {candidate.index + 1}: {candidate.status} ({why[:MAX_ERROR_CHARS]})"


def check_solution(solution: WordSolution) -> Verdict:
    """The checker's verdict on a candidate set; score: the winner's share of the candidates."""
    total = len(solution.candidates)
    failed = [c for c in solution.candidates if c.answer is None]
    if solution.answer is None:
        details = "; ".join(_failure(c) for c in failed[:3])
        return Verdict(False, (f"no candidate produced a number: {details}",), 0.0)
    votes = solution.votes.get(solution.answer, 0)
    score = votes / total if total else 0.0
    reasons: list[str] = []
    if votes * 2 <= total:
        counts = ", ".join(f"{answer} x{n}" for answer, n in solution.votes.items())
        gave_none = f"; {len(failed)} gave no number" if failed else ""
        reasons.append(
            f"only {votes} of {total} candidates agree on {solution.answer} "
            f"(answers: {counts}{gave_none})"
        )
    problem = answer_problem(solution.answer, solution.question)
    if problem is not None:
        reasons.append(problem)
    if solution.mode == "pal":
        winners = [c for c in solution.candidates if c.answer == solution.answer]
        unused = min((unused_numbers(solution.question, c.program) for c in winners), key=len)
        if unused:
            reasons.append(f"the program never uses {', '.join(unused)} from the question")
    if reasons:
        return Verdict(False, tuple(reasons), score)
    how = "programs computed" if solution.mode == "pal" else "replies ended on"
    return Verdict(True, (f"{votes} of {total} candidates' {how} {solution.answer}",), score)
