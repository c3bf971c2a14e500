"""Problem files and the test programs built from solutions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twincore.services.codegen.harness.problems import (
    completion_program,
    load_problems,
    remove_cpp_main,
    shipped_problems,
    solution_program,
    task_program,
)


def test_shipped_sets_load() -> None:
    assert len(load_problems(shipped_problems("humaneval"))) == 164
    java = load_problems(shipped_problems("java"))
    cpp = load_problems(shipped_problems("cpp"))
    assert len(java) >= 10 and {p.language for p in java} == {"java"}
    assert len(cpp) >= 10 and {p.language for p in cpp} == {"cpp"}
    with pytest.raises(ValueError, match="no shipped problem set"):
        shipped_problems("cobol")


def test_bad_lines_are_reported_with_their_number(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    good = {"task_id": "a", "prompt": "", "entry_point": "f", "canonical_solution": "", "test": ""}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "language": "cobol"}) + "\n")
    with pytest.raises(ValueError, match=r"p.jsonl:2: .*cobol"):
        load_problems(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(ValueError, match="duplicate task_id"):
        load_problems(path)


def test_python_solutions_get_the_prompt_imports_or_continue_it() -> None:
    problem = load_problems(shipped_problems("humaneval"))[0]
    whole = solution_program(problem, "def has_close_elements(numbers, threshold):\n    return 1\n")
    assert whole.startswith("from typing import List")
    assert whole.rstrip().endswith("check(has_close_elements)")
    body = solution_program(problem, "    return False\n")
    assert body.startswith(problem.prompt)
    assert completion_program(problem, "    pass\n").startswith(problem.prompt + "    pass\n")


def test_java_solution_is_made_package_private_and_imports_go_first() -> None:
    problem = load_problems(shipped_problems("java"))[0]
    code = (
        "import java.util.stream.*;\n"
        "public class Solution { public static int sumOfEvens(int[] a) { return 0; } }"
    )
    program = solution_program(problem, code)
    assert "public class Solution" not in program
    head = program.split("class Solution")[0]
    assert "import java.util.stream.*;" in head and "import java.util.*;" in head


def test_cpp_main_of_the_model_is_removed() -> None:
    code = "int f() { return 1; }\nint main() { if (1) { return 0; } }\n"
    assert remove_cpp_main(code).strip() == "int f() { return 1; }"
    assert "int main" in task_program("cpp", code, "int main() { return f() - 1; }")
    assert task_program("python", "x = 1", "") == "x = 1"


def test_only_top_level_imports_of_the_prompt_are_carried() -> None:
    problems = {p.task_id: p for p in load_problems(shipped_problems("humaneval"))}
    problem = problems["HumanEval/99"]  # its docstring has a line starting with "from"
    program = solution_program(problem, "def closest_integer(value):\n    return 0\n")
    assert program.startswith("\n\ndef closest_integer")
    compile(program, "program.py", "exec")
