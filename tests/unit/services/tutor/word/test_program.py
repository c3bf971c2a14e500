"""Word-problem programs: reading their quantities and answer, and running them in the real
codegen sandbox (errors, time limits and SymPy programs)."""

from __future__ import annotations

from twincore.platform.sandbox.runner import Limits
from twincore.services.tutor.word.program import MARKER, parse_output, run_word_program


def test_output_gives_the_answer_variable_and_the_quantities_in_order() -> None:
    stdout = f"hello\n{MARKER}\nmay = 24.0\ntotal = 72\nanswer = 72.0\n"
    own, quantities, answer = parse_output(stdout)
    assert own == "hello" and answer == "72"
    assert quantities == [("may", "24.0"), ("total", "72")]


def test_without_an_answer_variable_the_last_printed_number_counts() -> None:
    own, quantities, answer = parse_output(f"step 1\n12 apples\n30\n{MARKER}\nx = 3\n")
    assert own == "step 1\n12 apples\n30" and answer == "30" and quantities == [("x", "3")]
    assert parse_output(f"nothing\n{MARKER}\n")[2] is None


def test_a_sympy_program_runs_in_the_sandbox_and_reports_what_it_computed() -> None:
    reply = (
        "Here it is:\n```python\nfrom sympy import Eq, solve, symbols\n\n"
        "d = symbols('d')\ndaughter_age = solve(Eq(4 * d + 6, 3 * (d + 6)), d)[0]\n"
        "tom_age = 4 * daughter_age\nnames = ['Tom']\nanswer = tom_age\n```\nDone."
    )
    run = run_word_program(reply)
    assert run.status == "ok" and run.answer == "48"
    # the symbol, the list and the imported functions are not quantities
    assert run.quantities == [("daughter_age", "12"), ("tom_age", "48")]


def test_a_solution_function_is_called_when_there_is_no_answer_variable() -> None:
    run = run_word_program("```python\ndef solution():\n    price = 4\n    return price * 2.5\n```")
    assert run.status == "ok" and run.answer == "10"


def test_crashes_loops_and_empty_replies_give_no_answer_with_the_reason() -> None:
    crashed = run_word_program("```python\ntotal = 1 / 0\n```")
    assert crashed.status == "failed" and crashed.answer is None
    assert "ZeroDivisionError" in crashed.error
    looped = run_word_program(
        "```python\nwhile True:\n    pass\n```", Limits(wall_s=3.0, cpu_s=1.0, memory_mb=512)
    )
    assert looped.status == "timeout" and looped.answer is None
    silent = run_word_program("```python\nname = 'Ann'\n```")
    assert silent.status == "no_answer" and "no number" in silent.error
    assert run_word_program("").status == "no_answer"
