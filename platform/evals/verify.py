"""Checks a core's answer to a workload task: the final number for math, the tests for code.

Security note: `check_code` runs model-written code, always inside the platform's bubblewrap
sandbox (`twincore.platform.sandbox`, whose own note says what it isolates): no network, no view
of the host's files beyond the interpreter, an empty environment, closed stdin, and limits on
wall time, CPU time, memory, processes, file size and output that kill the whole process tree.
Without `bwrap` on the machine it raises `SandboxUnavailableError` rather than run the code
unconfined.
"""

from __future__ import annotations

import asyncio
import math
import re
import textwrap
from dataclasses import dataclass

import sympy  # type: ignore[import-untyped]
from sympy.parsing.sympy_parser import parse_expr  # type: ignore[import-untyped]

from twincore.platform.evals.tasks import Task
from twincore.platform.sandbox.languages import run_program
from twincore.platform.sandbox.runner import Limits, RunResult

# --- math ---------------------------------------------------------------------------------------

_ANSWER_LINE = re.compile(r"answer\s*:\**\s*([^\n]*)", re.IGNORECASE)
_HASH_LINE = re.compile(r"####\s*([^\n]*)")
_ANSWER_IS = re.compile(r"the (?:final )?answer is\s*:?\s*([^\n]*)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\d.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\d.])-?\.\d+")
_EXPRESSION = re.compile(r"[-+]?[\d.\s+\-*/^()]*\d[\d.\s+\-*/^()]*")
_FRAC = re.compile(r"\\d?frac\{([^{}]*)\}\{([^{}]*)\}")
_TEXT = re.compile(r"\\(?:text|mathrm|textbf)\{([^{}]*)\}")

_ALLOWED_NAMES = ("sqrt", "pi")
_MAX_EXPRESSION_CHARS = 100
_SAFE_EXPRESSION = re.compile(r"[\d\s+\-*/().]*")
_POWER = re.compile(r"\*\*")
_SMALL_POWER = re.compile(r"\*\*\s*\(?\s*[-+]?\d{1,3}(?:\.\d+)?\s*\)?(?![\d.(])")


def extract_final_answer(text: str) -> str | None:
    """The answer a reply ends on, cleaned to a number or expression; None when there is none.

    Looks for, in this order, `Answer: X`, `#### X`, `\\boxed{X}`, `the answer is X`, and
    otherwise takes the last number in the text. Within a form the last occurrence wins, and a
    form whose value holds no number (an echoed `Answer: <number>`) is skipped.
    """
    for candidates in (
        _ANSWER_LINE.findall(text),
        _HASH_LINE.findall(text),
        _boxed_contents(text),
        _ANSWER_IS.findall(text),
    ):
        for raw in reversed(candidates):
            cleaned = _clean_answer(raw)
            if cleaned is not None:
                return cleaned
    numbers = _NUMBER.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


def check_math(text: str, gold: str) -> bool:
    """Whether the reply's final answer equals `gold` (so "0.5" matches "1/2", "12.00" "12")."""
    answer = extract_final_answer(text)
    expected = _clean_answer(gold)
    if answer is None or expected is None:
        return False
    a, b = _parse_safely(answer), _parse_safely(expected)
    if a is None or b is None:
        return False
    try:
        difference = sympy.simplify(a - b)
        if difference == 0:
            return True
        return bool(difference.is_number) and abs(float(difference)) < 1e-6
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        return False


def _boxed_contents(text: str) -> list[str]:
    contents = []
    for match in re.finditer(r"\\boxed\s*\{", text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                contents.append(text[start:i])
                break
    return contents


def _clean_answer(raw: str) -> str | None:
    """`$1,234.50 dollars.` -> `1234.50`; `\\frac{1}{2}` -> `(1)/(2)`; None without a number."""
    s = _TEXT.sub(r"\1", raw)
    s = _FRAC.sub(r"(\1)/(\2)", s)
    for latex, plain in (("\\times", "*"), ("\\cdot", "*"), ("\\div", "/"), ("\\", "")):
        s = s.replace(latex, plain)
    s = s.replace("×", "*").replace("÷", "/").replace("$", "").replace("%", "")  # noqa: RUF001
    s = re.sub(r"(?<=\d),(?=\d)", "", s)
    s = s.rsplit("=", 1)[-1].strip().strip("*").strip().rstrip(".").strip()  # **bold**, full stop
    if _EXPRESSION.fullmatch(_without_allowed_names(s)):
        return re.sub(r"\s+", "", s)
    numbers = _NUMBER.findall(s)
    return numbers[0].replace(",", "") if numbers else None


def _without_allowed_names(expression: str) -> str:
    for name in _ALLOWED_NAMES:
        expression = expression.replace(name, "")
    return expression


def _parse_safely(expression: str) -> sympy.Expr | None:
    """A SymPy expression, or None for anything too long, unexpected or unparsable.

    `parse_expr` evaluates Python, so only digits, operators, brackets and a few function names
    get through, and a power only with a small literal exponent (`9**9**9` would never finish).
    """
    expression = expression.replace("^", "**")
    if len(expression) > _MAX_EXPRESSION_CHARS:
        return None
    bare = _without_allowed_names(expression)
    if not _SAFE_EXPRESSION.fullmatch(bare):
        return None
    powers = len(_POWER.findall(bare))
    if powers > 1 or (powers == 1 and not _SMALL_POWER.search(bare)):
        return None
    try:
        parsed = parse_expr(expression, evaluate=True)
    except Exception:  # parse_expr raises anything from SyntaxError to TokenError
        return None
    return parsed if isinstance(parsed, sympy.Expr) else None


# --- code ---------------------------------------------------------------------------------------

_OPEN_FENCE = re.compile(r"\s*```\s*([\w+-]*)[^`]*")
_CLOSE_FENCE = re.compile(r"\s*```\s*")
_PYTHON_TAGS = {"python", "python3", "py", ""}

# The solution runs as a module named `solution`, as HumanEval runs it: its own
# `if __name__ == "__main__":` demo (input(), doctest, prints) does not run.
_LAUNCHER = 'import runpy\nrunpy.run_path("solution.py", run_name="solution")\n'
_MEMORY_MB = 1024
_FILE_SIZE_MB = 10


@dataclass(frozen=True)
class CodeResult:
    """Whether the task's tests passed, and if not the reason (last stderr line, or timeout)."""

    passed: bool
    error: str | None


def extract_code(text: str) -> str:
    """The first ```python, ```py or bare ``` block (to the end if unclosed), else the text."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _OPEN_FENCE.fullmatch(lines[i])
        if fence is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not _CLOSE_FENCE.fullmatch(lines[end]):
            end += 1
        if fence.group(1).lower() in _PYTHON_TAGS:
            return textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
        i = end + 1
    return text


def check_code(text: str, task: Task, *, timeout_s: float = 10.0) -> CodeResult:
    """Run the reply's code and the task's tests in the sandbox (see the module's note)."""
    program = extract_code(text) + "\n\n" + task.tests + f"\n\ncheck({task.entry_point})\n"
    limits = Limits(
        wall_s=timeout_s,
        cpu_s=math.ceil(timeout_s) + 1,
        memory_mb=_MEMORY_MB,
        file_size_mb=_FILE_SIZE_MB,
    )
    result = run_program("python", _LAUNCHER, files={"solution.py": program}, limits=limits)
    if result.passed:
        return CodeResult(passed=True, error=None)
    if result.status == "timeout":
        return CodeResult(passed=False, error=f"timeout after {timeout_s:g}s")
    return CodeResult(passed=False, error=_failure(result))


async def check_code_async(text: str, task: Task, *, timeout_s: float = 10.0) -> CodeResult:
    """`check_code` in a worker thread, so an evaluator can check many answers at once."""
    return await asyncio.to_thread(check_code, text, task, timeout_s=timeout_s)


def _failure(result: RunResult) -> str:
    """The last line of stderr (the exception), else why the sandbox stopped the program."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    if lines:
        return lines[-1]
    return result.reason or f"exit code {result.exit_code}"
