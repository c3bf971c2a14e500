"""Checks a core's answer to a workload task: the final number for math, the tests for code.

Security note: `check_code` runs model-written code. It runs in a child Python process in a
throwaway directory, with an empty environment, closed stdin, a wall timeout and POSIX resource
limits (address space, CPU time, file size), which stops runaway loops and allocations but is
not a sandbox: the code can still read files, open sockets and start processes as this user.
Call it only on a machine where that is acceptable; the code-generation service will own the
real sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import sympy  # type: ignore[import-untyped]
from sympy.parsing.sympy_parser import parse_expr  # type: ignore[import-untyped]

from twincore.platform.evals.tasks import Task

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

_ADDRESS_SPACE_BYTES = 1 << 30
_FILE_SIZE_BYTES = 10 * 1024 * 1024

# Limits are set by the child itself before it runs the program: `preexec_fn` would be simpler
# but is not safe when other threads run, and `check_code_async` checks from worker threads.
_LAUNCHER = """\
import resource, runpy, sys
address_space, cpu_seconds, file_size = map(int, sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
sys.argv = ["solution.py"]
runpy.run_path("solution.py", run_name="solution")  # as HumanEval: no __main__ demo
"""


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
    """Run the reply's code and the task's tests in a limited child process (see module note)."""
    program = extract_code(text) + "\n\n" + task.tests + f"\n\ncheck({task.entry_point})\n"
    cpu_seconds = math.ceil(timeout_s) + 1
    with tempfile.TemporaryDirectory(prefix="twincore-check-", ignore_cleanup_errors=True) as tmp:
        workdir = Path(tmp)
        (workdir / "solution.py").write_text(program, encoding="utf-8")
        stderr_path = workdir / "stderr.txt"
        # Output goes to files, not pipes: RLIMIT_FSIZE caps them, and no reader can block.
        with (workdir / "stdout.txt").open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603 - runs our own interpreter, no shell
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    _LAUNCHER,
                    str(_ADDRESS_SPACE_BYTES),
                    str(cpu_seconds),
                    str(_FILE_SIZE_BYTES),
                ],
                cwd=workdir,
                env={"PATH": os.environ.get("PATH", os.defpath)},
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # its own process group, so a kill takes its children
            )
            try:
                returncode = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return CodeResult(passed=False, error=f"timeout after {timeout_s:g}s")
            finally:
                _kill_group(process)  # children the program left behind
        if returncode == 0:
            return CodeResult(passed=True, error=None)
        return CodeResult(passed=False, error=_last_line(stderr_path) or f"exit code {returncode}")


async def check_code_async(text: str, task: Task, *, timeout_s: float = 10.0) -> CodeResult:
    """`check_code` in a worker thread, so an evaluator can check many answers at once."""
    return await asyncio.to_thread(check_code, text, task, timeout_s=timeout_s)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _last_line(path: Path) -> str | None:
    with path.open("rb") as file:
        file.seek(max(0, path.stat().st_size - 4096))
        tail = file.read().decode("utf-8", errors="replace")
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else None
