"""Problems in HumanEval's shape, for Python, Java and C++, and the programs that test a solution.

One JSON object per line, the fields HumanEval (and HumanEval-X) use:

- `task_id`: unique, e.g. `HumanEval/0`, `Java/3`, `CPP/7`;
- `language`: `python` (the default, so HumanEval's own file loads as is), `java` or `cpp`;
- `prompt`: the code a solution continues: imports, the signature and its doc comment, ending
  where the body starts (Java: inside `class Solution`, after the method's `{`; C++: after the
  function's `{`);
- `entry_point`: the function's name;
- `canonical_solution`: the rest of the program after `prompt` (the body and closing braces);
- `test`: code appended to the solution. Python: `def check(candidate)` with asserts (the
  harness adds `check(<entry_point>)`); Java: a `public class Main` whose `main` throws or
  exits non-zero on a wrong answer; C++: an `int main()` that returns non-zero or fails an
  `assert` on a wrong answer.

A problem passes when its test program exits with status 0 within the limits.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from twincore.platform.sandbox.languages import LANGUAGES, Language

# The "empty" solution of each language: the body left out, so every test must fail.
EMPTY_BODIES: dict[str, str] = {
    "python": "    pass\n",
    "java": '        throw new UnsupportedOperationException("empty");\n    }\n}\n',
    "cpp": "    throw 0;\n}\n",
}
# Top-level import statements only: a docstring line may start with "from" too.
_IMPORT = re.compile(
    r"^(?:from\s+[\w.]+\s+import\s+[^\n]+|import\s+[\w.]+(?:\s+as\s+\w+)?"
    r"(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)[ \t]*$",
    re.MULTILINE,
)
_JAVA_IMPORT = re.compile(r"^\s*import\s+[\w.*]+\s*;\s*$", re.MULTILINE)
_CPP_INCLUDE = re.compile(r"^\s*#\s*include\s*[<\"][^>\"]+[>\"]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Problem:
    """One task with its reference solution and hidden tests."""

    task_id: str
    language: Language
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str


def load_problems(path: Path) -> list[Problem]:
    """Problems from a JSONL file (gzip when it ends in .gz); a bad line fails with its number."""
    opener = gzip.open if path.suffix == ".gz" else open
    problems: list[Problem] = []
    seen: set[str] = set()
    with opener(path, "rt", encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                problem = _problem(json.loads(line))
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a problem: {error}") from error
            if problem.task_id in seen:
                raise ValueError(f"{path}:{number}: duplicate task_id {problem.task_id!r}")
            seen.add(problem.task_id)
            problems.append(problem)
    if not problems:
        raise ValueError(f"{path}: no problems")
    return problems


def shipped_problems(name: str) -> Path:
    """A problem file shipped with the service: `humaneval`, `java` or `cpp`."""
    path = Path(str(resources.files("twincore.services.codegen") / "data" / f"{name}.jsonl"))
    if not path.is_file():
        raise ValueError(f"no shipped problem set {name!r}; one of humaneval, java, cpp")
    return path


def _problem(row: dict[str, object]) -> Problem:
    language = str(row.get("language", "python"))
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    fields = {}
    for key in ("task_id", "prompt", "entry_point", "canonical_solution", "test"):
        value = row[key]
        if not isinstance(value, str):
            raise TypeError(f"{key} must be a string")
        fields[key] = value
    return Problem(language=language, **fields)


def completion_program(problem: Problem, completion: str) -> str:
    """The test program for a completion that continues `prompt` (canonical, empty)."""
    return join_tests(problem, problem.prompt + completion)


def solution_program(problem: Problem, code: str) -> str:
    """The test program for code a model wrote: a whole function (or class) is used as is,
    with the prompt's imports; code without the entry point is taken as a body of the prompt."""
    if not defines_entry_point(problem, code):
        return completion_program(problem, code)
    if problem.language == "python":
        imports = "\n".join(_IMPORT.findall(problem.prompt))
        return join_tests(problem, imports + "\n\n" + code)
    if problem.language == "java":
        code = re.sub(r"\bpublic\s+(final\s+)?class\s+Solution\b", "class Solution", code)
        return join_tests(problem, "\n".join(_JAVA_IMPORT.findall(problem.prompt)) + "\n" + code)
    code = remove_cpp_main(code)
    return join_tests(problem, "\n".join(_CPP_INCLUDE.findall(problem.prompt)) + "\n" + code)


def defines_entry_point(problem: Problem, code: str) -> bool:
    name = re.escape(problem.entry_point)
    if problem.language == "python":
        return re.search(rf"^\s*def\s+{name}\s*\(", code, re.MULTILINE) is not None
    if problem.language == "java":
        return re.search(r"\bclass\s+Solution\b", code) is not None
    return re.search(rf"\b{name}\s*\([^;{{]*\)\s*(?:const\s*)?\{{", code) is not None


def join_tests(problem: Problem, solution: str) -> str:
    """Solution then tests; Java's imports moved to the top, where javac wants them."""
    if problem.language == "python":
        return f"{solution}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"
    if problem.language == "java":
        program = solution + "\n\n" + problem.test + "\n"
        imports = list(dict.fromkeys(m.strip() for m in _JAVA_IMPORT.findall(program)))
        body = _JAVA_IMPORT.sub("", program)
        return "\n".join(imports) + "\n" + body
    return solution + "\n\n" + problem.test + "\n"


def remove_cpp_main(code: str) -> str:
    """The code without its own `int main(...) {...}` (the tests bring theirs)."""
    match = re.search(r"\bint\s+main\s*\([^)]*\)\s*\{", code)
    if match is None:
        return code
    depth, end = 1, match.end()
    while end < len(code) and depth:
        depth += {"{": 1, "}": -1}.get(code[end], 0)
        end += 1
    return code[: match.start()] + code[end:]


def empty_solution(problem: Problem) -> str:
    return EMPTY_BODIES[problem.language]


def task_program(language: Language, code: str, tests: str) -> str:
    """The program that checks `code` against free-form `tests` of a service request: Python
    asserts (or any code) after the code; a Java `public class Main` beside the code's classes;
    a C++ `main` after the code (the code's own `main` removed). Without tests, the code alone."""
    if not tests.strip():
        return code
    problem = Problem("task", language, "", "", "", tests)
    if language == "python":
        return f"{code}\n\n{tests}\n"
    if language == "java":
        code = re.sub(r"\bpublic\s+(final\s+)?class\s+(?!Main\b)", "class ", code)
        return join_tests(problem, code)
    return join_tests(problem, remove_cpp_main(code))
