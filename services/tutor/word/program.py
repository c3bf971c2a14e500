"""Running a model-written word-problem program in the platform's sandbox.

Security note: the program is written by a model and is run only inside the platform's sandbox
(`run_program`: bubblewrap, no network, a private /tmp, wall/CPU/memory/process limits), never
in this process.

The model's program assigns one variable per quantity and ends with `answer = ...`. A footer
appended here prints, after a marker line, every top-level variable that holds a number
(`name = value`, in the order the program defined them), so the explanation cites exactly the
quantities the program computed; a program that defined `solution()` instead (the PAL paper's
shape) gets `answer = solution()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from twincore.platform.evals.gsm8k import normalise_number
from twincore.platform.sandbox.extract import extract_code
from twincore.platform.sandbox.languages import run_program
from twincore.platform.sandbox.runner import Limits, RunResult

PROGRAM_LIMITS = Limits(wall_s=15.0, cpu_s=10.0, memory_mb=768, processes=16)
MARKER = "#### twincore quantities"
MAX_QUANTITIES = 40

# Runs after the model's code, in the same module namespace. Only plain numbers and SymPy
# numbers are printed: lists, strings and functions are not quantities to cite.
FOOTER = f"""

def _twincore_quantities():
    import numbers as _numbers
    names = dict(globals())
    if "answer" not in names and callable(names.get("solution")):
        names["answer"] = names["solution"]()
    print({MARKER!r})
    for _name, _value in names.items():
        if _name.startswith("_") or isinstance(_value, bool):
            continue
        if isinstance(_value, _numbers.Number) or getattr(_value, "is_number", False) is True:
            print(f"{{_name}} = {{_value}}")


_twincore_quantities()
"""

_QUANTITY = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True)
class ProgramRun:
    """What one program did: its sandbox status, what it printed, the quantities, the answer."""

    code: str
    status: str
    """`ok`, or the sandbox's status (`failed`, `timeout`, `memory`, ...), or `no_answer`."""
    answer: str | None
    quantities: list[tuple[str, str]] = field(default_factory=list)
    output: str = ""
    """What the program itself printed (before the footer's marker)."""
    error: str = ""


def program_source(code: str) -> str:
    """The model's code with the footer that reports its quantities."""
    return code.rstrip() + "\n" + FOOTER


def parse_output(stdout: str) -> tuple[str, list[tuple[str, str]], str | None]:
    """(the program's own output, its quantities, its answer) from the sandbox's stdout.

    The answer is the `answer` variable; without one, the last number the program printed.
    """
    own, _, reported = stdout.partition(MARKER)
    quantities: list[tuple[str, str]] = []
    answer: str | None = None
    for line in reported.splitlines():
        match = _QUANTITY.match(line)
        if match is None:
            continue
        name, value = match.group(1), match.group(2)
        if name == "answer":
            answer = normalise_number(value)
        elif len(quantities) < MAX_QUANTITIES:
            quantities.append((name, value))
    if answer is None:
        printed = [normalise_number(line) for line in own.splitlines()]
        numbers = [value for value in printed if value is not None]
        answer = numbers[-1] if numbers else None
    return own.strip(), quantities, answer


def run_word_program(reply: str, limits: Limits = PROGRAM_LIMITS) -> ProgramRun:
    """Extract the Python block from `reply`, run it in the sandbox, read its answer
    (blocking: call it from a worker thread in async code)."""
    code = extract_code(reply, "python")
    if not code.strip():
        return ProgramRun(code, "no_answer", None, error="the reply holds no program")
    result: RunResult = run_program("python", program_source(code), limits=limits)
    if not result.passed:
        error = (result.stderr.strip().splitlines() or [result.reason or result.status])[-1]
        return ProgramRun(code, result.status, None, output=result.stdout.strip(), error=error)
    own, quantities, answer = parse_output(result.stdout)
    if answer is None:
        return ProgramRun(code, "no_answer", None, quantities, own, "the program printed no number")
    return ProgramRun(code, "ok", answer, quantities, own)
