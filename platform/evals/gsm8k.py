"""GSM8K files: grade-school word problems whose gold answer is the number after `####`.

One JSON object per line with `question` and `answer` (a worked solution whose last line is
`#### N`), and optionally `index` (the row in the original split). A malformed file is refused
whole, naming the file, the line and the reason. The router evaluation's 40 problems
(`data/gsm8k_router.jsonl`) and the tutor's evaluation both read their files here.

Numbers are compared in one canonical form (`normalise_number`): what comes back from a model
or a program is text (`$1,234.50`, `72 clips`, `23.999999999996`, `7/2`, `50%`), so commas
between digit groups, currency signs, units and percent signs are dropped, fractions are
evaluated exactly, and a value within `INTEGER_TOLERANCE` of an integer becomes that integer.
Other values keep at most `DECIMALS` decimals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

INTEGER_TOLERANCE = 1e-6
DECIMALS = 4
MAX_DIGITS = 30
"""Longer digit strings are not an answer (and would make Fraction slow)."""

_GROUPED = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-\u2212])?\s*(?P<int>\d+)(?:\.(?P<frac>\d+))?(?:\s*/\s*(?P<den>\d+))?"
    r"|(?<![\w.])(?P<sign2>[-\u2212])?\.(?P<frac2>\d+)"
)


def parse_number(text: str) -> Fraction | None:
    """The first number in `text` as an exact fraction, or None when there is none.

    `a/b` is one number (a SymPy `Rational` prints so); a number glued to letters
    (`x2`, `3rd` stays 3 but `v2` is skipped) is not read from inside a word.
    """
    cleaned = _GROUPED.sub("", text.replace("$", " ").replace("\u00a0", " "))
    match = _NUMBER.search(cleaned)
    if match is None:
        return None
    negative = bool(match.group("sign") or match.group("sign2"))
    whole = match.group("int") or "0"
    decimals = match.group("frac") or match.group("frac2") or ""
    if len(whole) + len(decimals) > MAX_DIGITS:
        return None
    try:
        value = Fraction(Decimal(f"{whole}.{decimals}" if decimals else whole))
    except (InvalidOperation, ValueError):
        return None
    denominator = match.group("den")
    if denominator is not None:
        if int(denominator) == 0 or len(denominator) > MAX_DIGITS:
            return None
        value /= int(denominator)
    return -value if negative else value


def canonical(value: Fraction) -> str:
    """`24`, `-3`, `0.3333`: integers when within the tolerance, else rounded decimals."""
    nearest = round(value)
    if abs(value - nearest) <= INTEGER_TOLERANCE * max(1, abs(nearest)):
        return str(nearest)
    text = f"{float(value):.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normalise_number(text: str) -> str | None:
    """The canonical form of the first number in `text` (`"$1,234.00"` -> `"1234"`)."""
    value = parse_number(text)
    return None if value is None else canonical(value)


@dataclass(frozen=True)
class GsmProblem:
    """One problem: its line in the file (1-based), the question, the normalised gold number,
    the worked solution, and its row in the original split when the file records it."""

    line: int
    question: str
    gold: str
    solution: str
    index: int | None = None


def gold_answer(solution: str) -> str:
    """The normalised number after the last `####` (`"... #### 1,234"` -> `"1234"`)."""
    if "####" not in solution:
        raise ValueError("the answer has no '#### N' line")
    value = normalise_number(solution.rsplit("####", 1)[1])
    if value is None:
        raise ValueError("no number after '####'")
    return value


def _problem(line: int, text: str) -> GsmProblem:
    row = json.loads(text)
    if not isinstance(row, dict):
        raise ValueError("a line must be a JSON object")
    question, solution, index = row.get("question"), row.get("answer"), row.get("index")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be a non-empty string")
    if not isinstance(solution, str):
        raise ValueError("'answer' must be a string")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise ValueError("'index' must be an integer")
    return GsmProblem(line, question, gold_answer(solution), solution, index)


def load_gsm8k(path: Path, *, limit: int | None = None) -> list[GsmProblem]:
    """The problems of a GSM8K JSONL file, the first `limit` only (None or 0: all).

    A malformed file is refused whole: ValueError naming the file, the line and the reason.
    """
    if not path.is_file():
        raise ValueError(f"no GSM8K file at {path}")
    problems: list[GsmProblem] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                problems.append(_problem(number, line))
            except ValueError as error:  # json.JSONDecodeError is a ValueError
                raise ValueError(f"{path}, line {number}: {error}") from error
    if not problems:
        raise ValueError(f"{path} holds no problems")
    return problems[:limit] if limit else problems
