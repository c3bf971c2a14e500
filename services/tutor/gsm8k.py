"""GSM8K files: grade-school word problems whose gold answer is the number after `####`.

The shipped copy is the first 1000 training problems (`data/gsm8k/`, MIT, origin in its
README); `--gsm8k FILE` points the evaluation at any JSONL file of the same format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from twincore.services.tutor.word_answer import normalise_number

SHIPPED = "train_1000.jsonl"


@dataclass(frozen=True)
class GsmProblem:
    """One problem: its line in the file (1-based), the question and the gold number."""

    line: int
    question: str
    gold: str
    solution: str


def gold_answer(solution: str) -> str:
    """The normalised number after the last `####` (`"... #### 1,234"` -> `"1234"`)."""
    if "####" not in solution:
        raise ValueError("the answer has no '#### N' line")
    value = normalise_number(solution.rsplit("####", 1)[1])
    if value is None:
        raise ValueError("no number after '####'")
    return value


def shipped_path() -> Path:
    return Path(str(resources.files("twincore.services.tutor") / "data" / "gsm8k" / SHIPPED))


def load_gsm8k(path: Path | None = None, *, limit: int | None = None) -> list[GsmProblem]:
    """The problems of a GSM8K JSONL file (default: the shipped one), the first `limit` only.

    A malformed file is refused whole: ValueError naming the file, the line and the reason.
    """
    source = path or shipped_path()
    if not source.is_file():
        raise ValueError(f"no GSM8K file at {source}")
    problems: list[GsmProblem] = []
    with source.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("a line must be a JSON object")
                question, solution = row.get("question"), row.get("answer")
                if not isinstance(question, str) or not question.strip():
                    raise ValueError("'question' must be a non-empty string")
                if not isinstance(solution, str):
                    raise ValueError("'answer' must be a string")
                problems.append(GsmProblem(number, question, gold_answer(solution), solution))
            except ValueError as error:  # json.JSONDecodeError is a ValueError
                raise ValueError(f"{source}, line {number}: {error}") from error
    if not problems:
        raise ValueError(f"{source} holds no problems")
    return problems[:limit] if limit else problems
