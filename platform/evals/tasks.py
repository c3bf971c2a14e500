"""The router evaluation's workload: math and code tasks whose answers can be checked.

Four groups, easy and hard per domain: one-step arithmetic generated here, GSM8K word problems,
small authored Python functions and HumanEval problems. The copied subsets ship in `data/`
(origin and licenses in `data/README.md`); nothing is read from outside the package.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from twincore.platform.evals.gsm8k import load_gsm8k

GROUPS = ("math-easy", "math-hard", "code-easy", "code-hard")
"""Group order; `load_workload` interleaves the groups in this order."""

MATH_EASY_COUNT = 40
_MATH_EASY_SEED = 20240601  # fixed: the easy questions are part of the workload, like the files

MATH_HARD_INSTRUCTION = (
    'Solve the problem step by step. Finish with a final line of the form "Answer: <number>".'
)
MATH_EASY_INSTRUCTION = 'Finish with a final line of the form "Answer: <number>".'
CODE_INSTRUCTION = "Reply with the complete function in a single ```python code block."
CODE_HARD_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function, including its "
    "signature and the imports it needs, in a single ```python code block."
)


@dataclass(frozen=True)
class Task:
    """One verifiable request: the prompt sent to a core and what its answer is checked against."""

    id: str
    """Stable name, e.g. `gsm8k/0137` or `HumanEval/25`."""
    domain: Literal["math", "code"]
    """Which verifier applies: `check_math` or `check_code`."""
    group: str
    """Difficulty group, one of GROUPS; for reporting only, the router never sees it."""
    prompt: str
    """The user message, answer-format instruction included."""
    answer: str
    """Math: the gold number or expression. Code: empty."""
    tests: str
    """Code: test code defining `check(candidate)`. Math: empty."""
    entry_point: str
    """Code: the function the tests call. Math: empty."""
    max_tokens: int
    """Generation budget for the answer."""


def load_workload(*, per_group: int | None = None, seed: int = 0) -> list[Task]:
    """Every group's tasks, interleaved in GROUPS order; deterministic for a given seed.

    `seed` shuffles the order within each group, so with `per_group` it picks which tasks run;
    the task pool itself is fixed. `per_group=None` keeps every shipped task.
    """
    if per_group is not None and per_group < 0:
        raise ValueError(f"per_group must be >= 0, got {per_group}")
    pools = {
        "math-easy": math_easy_tasks(),
        "math-hard": math_hard_tasks(),
        "code-easy": code_easy_tasks(),
        "code-hard": code_hard_tasks(),
    }
    ordered: list[list[Task]] = []
    for group in GROUPS:
        tasks = list(pools[group])
        random.Random(f"{seed}:{group}").shuffle(tasks)  # noqa: S311 - reproducible, not secret
        ordered.append(tasks[:per_group])
    longest = max(len(tasks) for tasks in ordered)
    return [tasks[i] for i in range(longest) for tasks in ordered if i < len(tasks)]


def math_easy_tasks() -> list[Task]:
    """One-step arithmetic on small integers, ten per operation, with exact integer results."""
    rng = random.Random(_MATH_EASY_SEED)  # noqa: S311 - reproducible, not secret
    questions: list[tuple[str, int]] = []
    seen: set[str] = set()
    for op in ("+", "-", "*", "/") * (MATH_EASY_COUNT // 4):
        while True:
            question, value = _arithmetic_question(rng, op)
            if question not in seen:
                break
        seen.add(question)
        questions.append((question, value))
    rng.shuffle(questions)
    return [
        Task(
            id=f"math-easy/{i:02d}",
            domain="math",
            group="math-easy",
            prompt=f"{question}\n{MATH_EASY_INSTRUCTION}",
            answer=str(value),
            tests="",
            entry_point="",
            max_tokens=48,
        )
        for i, (question, value) in enumerate(questions)
    ]


def _arithmetic_question(rng: random.Random, op: str) -> tuple[str, int]:
    if op == "+":
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        words = rng.choice(["What is {a} + {b}?", "Compute {a} + {b}.", "What is {a} plus {b}?"])
        return words.format(a=a, b=b), a + b
    if op == "-":
        a = rng.randint(10, 99)
        b = rng.randint(1, a - 1)
        words = rng.choice(["What is {a} - {b}?", "Compute {a} - {b}.", "What is {a} minus {b}?"])
        return words.format(a=a, b=b), a - b
    if op == "*":
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        words = rng.choice(["What is {a} * {b}?", "Compute {a} * {b}.", "What is {a} times {b}?"])
        return words.format(a=a, b=b), a * b
    b, quotient = rng.randint(2, 12), rng.randint(2, 12)
    words = rng.choice(["What is {a} divided by {b}?", "Compute {a} / {b}."])
    return words.format(a=b * quotient, b=b), quotient


GSM8K_FILE = Path(str(resources.files("twincore.platform.evals") / "data" / "gsm8k_router.jsonl"))


def math_hard_tasks() -> list[Task]:
    """The shipped GSM8K problems; the gold answer is the number after `####`."""
    return [
        Task(
            id=f"gsm8k/{problem.line if problem.index is None else problem.index:04d}",
            domain="math",
            group="math-hard",
            prompt=f"{problem.question}\n{MATH_HARD_INSTRUCTION}",
            answer=problem.gold,
            tests="",
            entry_point="",
            max_tokens=320,
        )
        for problem in load_gsm8k(GSM8K_FILE)
    ]


def code_easy_tasks() -> list[Task]:
    """Tiny authored functions (double, is_even, reverse a string, ...), 3-5 asserts each."""
    return [
        Task(
            id=f"code-easy/{row['entry_point']}",
            domain="code",
            group="code-easy",
            prompt=f"{row['instruction']}\n{CODE_INSTRUCTION}",
            answer="",
            tests=row["test"],
            entry_point=row["entry_point"],
            max_tokens=160,
        )
        for row in read_data_rows("code_easy.jsonl")
    ]


def code_hard_tasks() -> list[Task]:
    """The shipped HumanEval problems: signature and docstring in, the whole function out."""
    return [
        Task(
            id=row["task_id"],
            domain="code",
            group="code-hard",
            prompt=f"{CODE_HARD_INSTRUCTION}\n\n```python\n{row['prompt'].strip()}\n```",
            answer="",
            tests=row["test"],
            entry_point=row["entry_point"],
            max_tokens=384,
        )
        for row in read_data_rows("humaneval_router.jsonl")
    ]


def read_data_rows(name: str) -> list[dict[str, Any]]:
    """The rows of a shipped data file (`code_easy.jsonl`, ...), reference solutions included."""
    text = (resources.files("twincore.platform.evals") / "data" / name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]
