"""The tutor's evaluation: the generated symbolic suite, the step-check suite and GSM8K.

Parts (a) and (b) need no model; part (c), GSM8K, builds the cores it evaluates
(`gsm8k_eval.py`) and needs the settings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import sympy  # type: ignore[import-untyped]

from twincore.platform.settings import Settings
from twincore.services.tutor.checker import Verdict, compare
from twincore.services.tutor.gsm8k import load_gsm8k
from twincore.services.tutor.gsm8k_eval import GsmOptions, evaluate_gsm8k, save_details
from twincore.services.tutor.parsing import Step
from twincore.services.tutor.solvers.base import UnsupportedProblemError, UnverifiedStepError
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.stepcheck import evaluate_step_checks, load_step_checks
from twincore.services.tutor.suite import SuiteProblem, generate, x, y


def answer_matches(problem: SuiteProblem, final: Step) -> bool:
    """Whether the solver's last step is the expected answer (up to equivalent forms)."""
    expected = problem.expected
    if isinstance(expected, tuple):
        if not isinstance(final, tuple):
            return False
        pairs = [
            sympy.linsolve([e.lhs - e.rhs for e in system], x, y) for system in (expected, final)
        ]
        return bool(pairs[0] == pairs[1])
    if problem.kind == "integral" and expected.has(x):
        # Antiderivatives differ by a constant: compare derivatives instead.
        return bool(sympy.simplify(sympy.diff(final - expected, x)) == 0)
    verdict, _ = compare(expected, final)
    return verdict is Verdict.OK


def solve_one(problem: SuiteProblem) -> tuple[bool, str]:
    """(solved with every step verified and the right answer, why not)."""
    try:
        solution = solve(problem.text)
    except (UnsupportedProblemError, UnverifiedStepError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if solution.kind != problem.kind:
        return False, f"detected as {solution.kind}"
    if not solution.all_verified:
        return False, "a step is not verified"
    if not answer_matches(problem, solution.steps[-1].math):
        return False, f"answer {solution.answer} is not {problem.expected}"
    return True, ""


def evaluate_symbolic(
    problems: Iterable[SuiteProblem], on_done: Callable[[], None] | None = None
) -> dict[str, Any]:
    """symbolic_accuracy overall and per kind, with the failures (problem and reason)."""
    totals: Counter[str] = Counter()
    solved: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    for problem in problems:
        ok, why = solve_one(problem)
        totals[problem.kind] += 1
        if ok:
            solved[problem.kind] += 1
        else:
            failures.append({"kind": problem.kind, "problem": problem.text, "reason": why})
        if on_done is not None:
            on_done()
    count = sum(totals.values())
    return {
        "symbolic_problems": count,
        "symbolic_accuracy": sum(solved.values()) / count if count else 0.0,
        "symbolic_per_kind": {k: solved[k] / n for k, n in sorted(totals.items())},
        "symbolic_failures": failures,
    }


PARTS = ("symbolic", "step-check", "gsm8k", "all")


def run_tutor_eval(
    part: str,
    seed: int,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[], None] | None = None,
    *,
    gsm8k: GsmOptions | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The report of `twincore eval tutor --part PART` (symbolic, step-check, gsm8k or all).

    GSM8K (in `gsm8k` and `all`) needs `settings` (the cores) and uses `gsm8k`'s options
    (defaults: `GsmOptions()`); its full answers are saved beside the report.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    report: dict[str, Any] = {"part": part, "seed": seed}
    symbolic = list(generate(seed)) if part in ("symbolic", "all") else []
    checks = load_step_checks() if part in ("step-check", "all") else []
    options = gsm8k or GsmOptions()
    problems = load_gsm8k(options.path, limit=options.limit) if part in ("gsm8k", "all") else []
    if problems and settings is None:
        raise ValueError("the GSM8K part needs the settings (which cores to build)")
    if on_total is not None:
        runs = len(options.cores) * len(options.modes)
        on_total(len(symbolic) + len(checks) + len(problems) * runs)
    if symbolic:
        report.update(evaluate_symbolic(symbolic, on_done))
    if checks:
        report.update(evaluate_step_checks(checks, on_done))
    if problems and settings is not None:
        summary, runs_detail = evaluate_gsm8k(settings, problems, options, on_done=on_done)
        report["gsm8k_file"] = str(options.path or "shipped train_1000.jsonl")
        report.update(summary)
        report["gsm8k_details"] = str(save_details(settings, runs_detail))
    return report
