"""Router-evaluation workload: shipped tasks, their reference solutions and the verifiers."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

import pytest

from twincore.platform.evals.gsm8k import gold_answer
from twincore.platform.evals.tasks import (
    GROUPS,
    Task,
    load_workload,
    math_hard_tasks,
    read_data_rows,
)
from twincore.platform.evals.verify import (
    CodeResult,
    check_code,
    check_code_async,
    check_math,
    extract_code,
    extract_final_answer,
)

EXPECTED_COUNTS = {"math-easy": 40, "math-hard": 40, "code-easy": 30, "code-hard": 30}
WRONG_SOLUTION = "def {name}(*args, **kwargs):\n    return None\n"


def _tasks(group: str) -> list[Task]:
    return [task for task in load_workload() if task.group == group]


def _reference_solutions() -> dict[str, str]:
    """Task id -> a reply holding the known-good solution, as a model would format it."""
    easy = {
        f"code-easy/{r['entry_point']}": r["solution"] for r in read_data_rows("code_easy.jsonl")
    }
    hard = {
        r["task_id"]: r["prompt"] + r["canonical_solution"]
        for r in read_data_rows("humaneval_router.jsonl")
    }
    return {
        task_id: f"Here it is:\n```python\n{code}```\n"
        for task_id, code in {**easy, **hard}.items()
    }


async def _check_all(replies: dict[str, str], tasks: list[Task]) -> dict[str, CodeResult]:
    results = await asyncio.gather(*(check_code_async(replies[t.id], t) for t in tasks))
    return {task.id: result for task, result in zip(tasks, results, strict=True)}


# --- workload -----------------------------------------------------------------------------------


def test_workload_counts_and_fields() -> None:
    tasks = load_workload()
    assert Counter(task.group for task in tasks) == EXPECTED_COUNTS
    assert len({task.id for task in tasks}) == len(tasks)
    for task in tasks:
        assert task.domain == task.group.split("-")[0]
        if task.domain == "math":
            assert task.answer and not task.tests and not task.entry_point
            assert "Answer: <number>" in task.prompt
        else:
            assert not task.answer and "def check(candidate)" in task.tests and task.entry_point
            assert "```python" in task.prompt
    budgets = {task.group: task.max_tokens for task in tasks}
    assert budgets == {"math-easy": 48, "math-hard": 320, "code-easy": 160, "code-hard": 384}


def test_workload_is_deterministic_and_interleaved() -> None:
    assert load_workload() == load_workload()
    assert load_workload(per_group=3, seed=1) == load_workload(per_group=3, seed=1)
    small = load_workload(per_group=2)
    assert [task.group for task in small] == list(GROUPS) * 2
    assert load_workload(per_group=5, seed=0) != load_workload(per_group=5, seed=1)
    assert set(load_workload(seed=7)) == set(load_workload(seed=0))  # seed orders, never changes
    assert load_workload(per_group=0) == []
    with pytest.raises(ValueError, match="per_group"):
        load_workload(per_group=-1)


def test_math_easy_questions_are_one_step_with_exact_answers() -> None:
    tasks = _tasks("math-easy")
    assert len({task.prompt for task in tasks}) == len(tasks)
    for task in tasks:
        question = task.prompt.splitlines()[0]
        expression = (
            question.removeprefix("What is ")
            .removeprefix("Compute ")
            .rstrip("?.")
            .replace(" plus ", " + ")
            .replace(" minus ", " - ")
            .replace(" times ", " * ")
            .replace(" divided by ", " / ")
        )
        assert eval(expression) == int(task.answer)  # the questions are plain arithmetic
        assert int(task.answer) >= 0


def test_gsm8k_gold_is_the_number_after_the_marker() -> None:
    assert gold_answer("She sold 48 + 24 = 72 clips.\n#### 1,072") == "1072"
    rows = read_data_rows("gsm8k_router.jsonl")
    assert [task.answer for task in math_hard_tasks()] == [gold_answer(r["answer"]) for r in rows]
    assert all(
        task.prompt.startswith(row["question"])
        for task, row in zip(math_hard_tasks(), rows, strict=True)
    )


# --- math verification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Answer: 1,234", "1234"),
        ("The total is 12.\nAnswer: 18", "18"),
        ("**Answer:** 42", "42"),
        ("Answer: $1,234.50 dollars.", "1234.50"),
        ("Answer: <number>\nSo she has 7 apples.", "7"),  # an echoed template is skipped
        ("work work\n#### 72", "72"),
        ("So we get \\boxed{18}.", "18"),
        ("\\boxed{\\frac{1}{2}}", "(1)/(2)"),
        ("so the answer is 3.50.", "3.50"),
        ("The final answer is: 42 apples", "42"),
        ("Answer: 5 + 3 = 8", "8"),
        ("Answer: 50%", "50"),
        ("First 3, then 4, finally -12 left", "-12"),
        ("Answer: 7\n#### 9", "7"),  # Answer: wins over ####
        ("no digits here", None),
        ("", None),
    ],
)
def test_extract_final_answer(text: str, expected: str | None) -> None:
    assert extract_final_answer(text) == expected


def test_every_math_gold_checks_against_itself_and_formatted_variants() -> None:
    for task in _tasks("math-easy") + _tasks("math-hard"):
        gold = task.answer
        assert check_math(gold, gold), task.id
        assert check_math(f"Let me think.\nAnswer: {gold}", gold), task.id
        assert check_math(f"We get \\boxed{{{gold}}}.", gold), task.id
        assert check_math(f"so the answer is {gold}.", gold), task.id
        assert not check_math(f"Answer: {float(gold) + 1}", gold), task.id


@pytest.mark.parametrize(
    ("text", "gold"),
    [
        ("Answer: 1,234", "1234"),
        ("\\boxed{18}", "18"),
        ("so the answer is 3.50.", "3.5"),
        ("Answer: 0.5", "1/2"),
        ("Answer: 12.00", "12"),
        ("Answer: \\frac{3}{4}", "0.75"),
        ("Answer: 2^10", "1024"),
        ("Answer: sqrt(16)", "4"),
        ("Answer: $18 per week.", "18"),
    ],
)
def test_check_math_accepts_equal_values(text: str, gold: str) -> None:
    assert check_math(text, gold)


@pytest.mark.parametrize(
    ("text", "gold"),
    [
        ("Answer: 19", "18"),
        ("Answer: 0.51", "1/2"),
        ("I do not know.", "18"),
        ("Answer: 1/0", "5"),
        ("Answer: 9^9^9^9", "5"),  # refused, never evaluated
        ("Answer: 2**99999", "5"),
        ("Answer: __import__('os').system('true')", "0"),
        ("Answer: " + "1+" * 60 + "1", "61"),  # over the length cap
        ("Answer: 18", "x"),
    ],
)
def test_check_math_rejects_wrong_or_unsafe_answers(text: str, gold: str) -> None:
    assert not check_math(text, gold)


# --- code verification --------------------------------------------------------------------------


def test_extract_code() -> None:
    assert extract_code("Sure:\n```python\ndef f():\n    return 1\n```\nDone.") == (
        "def f():\n    return 1\n"
    )
    assert extract_code("```py\nx = 1\n```") == "x = 1\n"
    assert extract_code("```\nx = 2\n```\n```python\nx = 3\n```") == "x = 2\n"
    assert extract_code("```bash\nls\n```\ntext\n```python\nx = 3\n```") == "x = 3\n"
    assert extract_code("1. Code:\n   ```python\n   x = 4\n   ```") == "x = 4\n"
    assert extract_code("```python\nx = 5\n") == "x = 5\n"  # cut off by the token budget
    assert extract_code("def f(): pass") == "def f(): pass"


def test_every_code_task_reference_solution_passes_and_a_wrong_one_fails() -> None:
    tasks = _tasks("code-easy") + _tasks("code-hard")
    good = _reference_solutions()
    assert set(good) == {task.id for task in tasks}
    results = asyncio.run(_check_all(good, tasks))
    assert {i: r for i, r in results.items() if not r.passed} == {}
    wrong = {t.id: "```python\n" + WRONG_SOLUTION.format(name=t.entry_point) + "```" for t in tasks}
    results = asyncio.run(_check_all(wrong, tasks))
    assert [i for i, r in results.items() if r.passed] == []


def _task(*, tests: str, entry_point: str) -> Task:
    return dataclasses.replace(_tasks("code-easy")[0], tests=tests, entry_point=entry_point)


def test_failing_code_reports_the_last_stderr_line() -> None:
    task = _task(tests="def check(candidate):\n    assert candidate(2) == 4\n", entry_point="f")
    assert check_code("```python\ndef f(x):\n    return x * 2\n```", task) == CodeResult(True, None)
    result = check_code("```python\ndef f(x):\n    return x + 3\n```", task)
    assert result == CodeResult(passed=False, error="AssertionError")
    result = check_code("```python\ndef f(x):\n    raise KeyError('nope')\n```", task)
    assert result == CodeResult(passed=False, error="KeyError: 'nope'")


@pytest.mark.parametrize("garbage", ["", "I cannot help with that.", "```python\ndef (:\n```"])
def test_garbage_replies_fail(garbage: str) -> None:
    result = check_code(garbage, _tasks("code-easy")[0])
    assert not result.passed
    assert result.error


@pytest.mark.parametrize(
    "code",
    ["while True:\n    pass\n", "import time\ntime.sleep(60)\n"],
    ids=["busy-loop", "sleep"],
)
def test_runaway_code_is_killed_at_the_timeout(code: str) -> None:
    result = check_code(f"```python\n{code}```", _tasks("code-easy")[0], timeout_s=1)
    assert result == CodeResult(passed=False, error="timeout after 1s")


def test_memory_and_output_are_limited() -> None:
    task = _tasks("code-easy")[0]
    result = check_code("```python\nblob = bytearray(2 << 30)\n```", task)
    assert result == CodeResult(passed=False, error="MemoryError")
    result = check_code("```python\nopen('big', 'w').write('x' * (20 << 20))\n```", task)
    assert not result.passed


def test_child_sees_no_environment_and_no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINCORE_SECRET", "do-not-leak")
    task = _task(tests="def check(candidate):\n    candidate()\n", entry_point="f")
    code = (
        "import os, sys\n"
        "def f():\n"
        "    assert 'TWINCORE_SECRET' not in os.environ, 'leaked'\n"
        "    assert sys.stdin.read() == ''\n"
    )
    assert check_code(f"```python\n{code}```", task) == CodeResult(passed=True, error=None)
