"""The tutor's evaluation (`twincore eval tutor`): (a) the generated symbolic suite, (b) the
step-check suite, (c) GSM8K answer accuracy per core, program-aided vs direct.

Parts (a) and (b) need no model. Part (c) builds the cores it evaluates in this process
(`platform/evals/local.py`), one at a time so they never share the CPU, and sends the problems
of one (core, mode) run to the core `CONCURRENCY` at a time, which its engine batches. By
default each problem goes the service's way (`word/cascade.py`: the checker rejects, the tutor's
ladder adds candidates), pinned to the run's core. Each
answered problem is streamed to `<data_dir>/evals/tutor-gsm8k.rows.jsonl` as it finishes, so an
interrupted run keeps its work; the runs with every reply go to `tutor-gsm8k.json` at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy  # type: ignore[import-untyped]
from langchain_core.language_models import BaseChatModel

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.evals.gsm8k import GsmProblem, load_gsm8k
from twincore.platform.evals.local import (
    CORE_NAMES,
    RowLog,
    local_router,
    save_report,
    service_models,
)
from twincore.platform.router.escalation import Ladder, summarize
from twincore.platform.router.setup import service_ladder
from twincore.platform.router.types import AUTO
from twincore.platform.settings import Settings
from twincore.services.tutor.service import HINTS, SERVICE
from twincore.services.tutor.solvers.base import UnsupportedProblemError, UnverifiedStepError
from twincore.services.tutor.solvers.dispatch import solve
from twincore.services.tutor.solvers.suite import SuiteProblem, generate, x, y
from twincore.services.tutor.steps.checker import Verdict, compare
from twincore.services.tutor.steps.parsing import Step
from twincore.services.tutor.steps.stepcheck import evaluate_step_checks, load_step_checks
from twincore.services.tutor.word.cascade import CheckedWord, solve_checked
from twincore.services.tutor.word.problems import (
    MAX_CANDIDATES,
    Mode,
    WordSolution,
    solve_word_problem,
)

logger = logging.getLogger(__name__)

PARTS = ("symbolic", "step-check", "gsm8k", "all")
SHIPPED_GSM8K = Path(__file__).parent / "data" / "gsm8k" / "train_1000.jsonl"
"""The first 1000 GSM8K training problems (MIT; origin in the folder's README)."""
CONCURRENCY = 8
DEFAULT_LIMIT = 10
"""GSM8K problems per run unless told otherwise: `eval tutor` (part `all`) stays a few minutes."""


# --- (a) the symbolic suite ---------------------------------------------------------------------


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


# --- (c) GSM8K ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GsmOptions:
    """What part (c) evaluates: the file (None: the shipped one), cores, modes, the first
    `limit` problems (None: all), candidates per problem (voting; the first rung's with the
    cascade) and whether the checker's cascade climbs (more candidates) on a rejected answer."""

    path: Path | None = None
    cores: tuple[str, ...] = CORE_NAMES
    modes: tuple[Mode, ...] = ("pal", "direct")
    limit: int | None = DEFAULT_LIMIT
    candidates: int = 1
    cascade: bool = True
    """Through the tutor's checked cascade (the service's path) rather than one candidate set."""


def run_name(core: str, mode: str) -> str:
    return f"{core}/{mode}"


async def _answer(
    model: BaseChatModel,
    problem: GsmProblem,
    mode: Mode,
    candidates: int,
    sandbox: asyncio.Semaphore,
    ladder: Ladder | None = None,
    core: str = AUTO,
) -> dict[str, Any]:
    """One problem's row; with a `ladder`, solved through the tutor's checked cascade."""
    checked: CheckedWord | None = None
    try:
        if ladder is None:
            solution: WordSolution = await solve_word_problem(
                problem.question, model, candidates=candidates, mode=mode, sandbox_slots=sandbox
            )
        else:
            checked = await solve_checked(
                problem.question,
                model,
                ladder,
                requested=core,
                candidates=candidates,
                mode=mode,
                sandbox_slots=sandbox,
            )
            solution = checked.solution
    except (TwincoreError, RuntimeError, OSError) as error:
        logger.warning("GSM8K line %d (%s) failed: %s", problem.line, mode, error)
        return {"line": problem.line, "answer": None, "correct": False, "error": str(error)}
    row: dict[str, Any] = {
        "line": problem.line,
        "answer": solution.answer,
        "correct": solution.answer == problem.gold,
        "votes": solution.votes,
        "statuses": [c.status for c in solution.candidates],
        "replies": [c.reply for c in solution.candidates],
        "errors": [c.error for c in solution.candidates if c.error],
    }
    if checked is not None:
        escalation = checked.escalation
        row["twincore"] = {
            "attempts": summarize(escalation.attempts),
            "passed": escalation.verdict.passed,
            "reasons": list(escalation.verdict.reasons),
            "escalated": escalation.escalated,
            "tokens": escalation.tokens,
        }
    return row


async def evaluate_runs(
    model: BaseChatModel,
    core: str,
    problems: Sequence[GsmProblem],
    modes: Sequence[Mode],
    *,
    candidates: int = 1,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    ladder: Ladder | None = None,
) -> dict[str, dict[str, Any]]:
    """One run per mode on one core's chat model: accuracy, counts, wall time, answers.
    `on_row` gets each problem's row (with its run's name) as soon as it is answered. With a
    `ladder`, each problem goes through the tutor's checked cascade pinned to `core`."""
    runs: dict[str, dict[str, Any]] = {}
    sandbox = asyncio.Semaphore(2)
    for mode in modes:
        name = run_name(core, mode)
        slots = asyncio.Semaphore(CONCURRENCY)
        started = time.perf_counter()

        async def one(
            problem: GsmProblem,
            mode: Mode = mode,
            name: str = name,
            slots: asyncio.Semaphore = slots,
        ) -> dict[str, Any]:
            async with slots:
                row = await _answer(model, problem, mode, candidates, sandbox, ladder, core)
            if on_row is not None:
                on_row({"run": name, **row})
            return row

        rows = await asyncio.gather(*(one(p) for p in problems))
        correct = sum(row["correct"] for row in rows)
        checked = [row["twincore"] for row in rows if "twincore" in row]
        runs[name] = {
            "core": core,
            "mode": mode,
            "problems": len(rows),
            "correct": correct,
            "answered": sum(row["answer"] is not None for row in rows),
            "accuracy": correct / len(rows) if rows else 0.0,
            **_cascade_counts(checked),
            "wall_s": round(time.perf_counter() - started, 1),
            "answers": rows,
        }
        logger.info(
            "GSM8K %s: %d/%d correct in %.0f s", name, correct, len(rows), runs[name]["wall_s"]
        )
    return runs


def _cascade_counts(checked: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How often the checker accepted the answer and how often the cascade climbed."""
    if not checked:
        return {}
    return {
        "verified": sum(c["passed"] for c in checked),
        "escalated": sum(c["escalated"] for c in checked),
        "completion_tokens": sum(c["tokens"] for c in checked),
    }


def summarise(
    runs: dict[str, dict[str, Any]], problems: Sequence[GsmProblem], candidates: int
) -> dict[str, Any]:
    """The report's GSM8K part: overall and per-run accuracy, then each problem's answers."""
    total = sum(run["problems"] for run in runs.values())
    correct = sum(run["correct"] for run in runs.values())
    per_problem = [
        {
            "line": problem.line,
            "gold": problem.gold,
            **{name: run["answers"][i]["answer"] for name, run in runs.items()},
        }
        for i, problem in enumerate(problems)
    ]
    return {
        "gsm8k_problems": len(problems),
        "gsm8k_candidates": candidates,
        "gsm8k_cascade": any("verified" in run for run in runs.values()),
        "gsm8k_accuracy": correct / total if total else 0.0,
        "gsm8k_accuracy_by_run": {name: run["accuracy"] for name, run in runs.items()},
        "gsm8k_runs": {
            name: {key: value for key, value in run.items() if key != "answers"}
            for name, run in runs.items()
        },
        "gsm8k_per_problem": per_problem,
    }


async def _evaluate_cores(
    settings: Settings,
    problems: Sequence[GsmProblem],
    options: GsmOptions,
    on_row: Callable[[dict[str, Any]], None],
) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    ladder = service_ladder(settings, SERVICE) if options.cascade else None
    for core in options.cores:
        async with local_router(settings, [core]) as router:
            (model,) = service_models(router, SERVICE, [core], HINTS).values()
            runs.update(
                await evaluate_runs(
                    model,
                    core,
                    problems,
                    options.modes,
                    candidates=options.candidates,
                    on_row=on_row,
                    ladder=ladder,
                )
            )
    return runs


def evaluate_gsm8k(
    settings: Settings,
    problems: Sequence[GsmProblem],
    options: GsmOptions,
    *,
    on_done: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The report's GSM8K part on the cores built here; rows stream to the row log and the runs
    with every reply are saved (`gsm8k_rows`, `gsm8k_details`: where)."""
    unknown = [core for core in options.cores if core not in CORE_NAMES]
    if unknown:
        raise ValueError(f"cores must be swift or deep, not {', '.join(unknown)}")
    if not 1 <= options.candidates <= MAX_CANDIDATES:
        raise ValueError(f"candidates must be between 1 and {MAX_CANDIDATES}")
    with RowLog(settings, SERVICE, "gsm8k") as rows:

        def record(row: dict[str, Any]) -> None:
            rows.add(row)
            if on_done is not None:
                on_done()

        runs = asyncio.run(_evaluate_cores(settings, problems, options, record))
    summary = summarise(runs, problems, options.candidates)
    details = save_report(settings, SERVICE, "gsm8k", {**summary, "runs": runs})
    return {**summary, "gsm8k_rows": str(rows.path), "gsm8k_details": str(details)}


# --- the whole report ---------------------------------------------------------------------------


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
    (defaults: `GsmOptions()`); its rows and full answers are saved beside the report.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    report: dict[str, Any] = {"part": part, "seed": seed}
    symbolic = list(generate(seed)) if part in ("symbolic", "all") else []
    checks = load_step_checks() if part in ("step-check", "all") else []
    options = gsm8k or GsmOptions()
    problems: list[GsmProblem] = []
    if part in ("gsm8k", "all"):
        problems = load_gsm8k(options.path or SHIPPED_GSM8K, limit=options.limit)
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
        report["gsm8k_file"] = str(options.path or f"shipped {SHIPPED_GSM8K.name}")
        report.update(evaluate_gsm8k(settings, problems, options, on_done=on_done))
    return report
