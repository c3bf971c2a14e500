"""Checking problems' own solutions, or generated ones, through the sandbox; the pass@k report.

`canonical` and `empty` evaluate the problems' reference solutions and empty bodies (the proof
that the harness can pass and fail); `generate` writes `samples` candidates per problem with
the loop (repair rounds see only the sandbox's log of the hidden tests when `rounds > 0`, so
pass@k numbers are reported with `rounds=0` unless said otherwise; with model `auto`, a problem
none of whose candidates passes goes on to deep, as the service's cascade does). Sandbox runs go in
parallel over `workers` slots (2 on the two-core machine); generation keeps up to
`concurrency` problems in flight so the engine batches them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.router.escalation import Ladder
from twincore.platform.sandbox.languages import run_program
from twincore.platform.sandbox.runner import Limits, RunResult
from twincore.services.codegen.harness.passk import mean_pass_at_k
from twincore.services.codegen.harness.problems import (
    Problem,
    completion_program,
    empty_solution,
    solution_program,
)
from twincore.services.codegen.loop import CodeTask, LoopRun

logger = logging.getLogger(__name__)

Solutions = Literal["canonical", "empty", "generate"]
# EvalPlus caps memory at 4 GiB; two programs run at once on an 8-24 GiB machine, so 2 GiB.
TEST_LIMITS = Limits(wall_s=20.0, cpu_s=15.0, memory_mb=2048, processes=32)


@dataclass(frozen=True)
class Sample:
    """One candidate's verdict on one problem."""

    status: str
    reason: str
    rounds: int = 0
    core: str | None = None
    completion_tokens: int = 0
    code: str = ""


OnDone = Callable[[Problem, list[Sample]], None]
"""Told each problem's samples as soon as it is finished (progress bars, streamed rows)."""


def check_program(problem: Problem, program: str) -> RunResult:
    return run_program(problem.language, program, limits=TEST_LIMITS)


def evaluate_solutions(
    problems: Sequence[Problem],
    which: Literal["canonical", "empty"],
    *,
    workers: int = 2,
    on_done: OnDone | None = None,
) -> dict[str, list[Sample]]:
    """Each problem's own solution (or empty body) through the sandbox, `workers` at a time."""

    def one(problem: Problem) -> tuple[str, list[Sample]]:
        body = problem.canonical_solution if which == "canonical" else empty_solution(problem)
        result = check_program(problem, completion_program(problem, body))
        samples = [Sample(result.status, _tail(result) or result.reason)]
        if on_done:
            on_done(problem, samples)
        return problem.task_id, samples

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, problems))


def rescore(
    problems: Sequence[Problem],
    recorded: dict[str, list[str]],
    *,
    workers: int = 2,
    on_done: OnDone | None = None,
) -> dict[str, list[Sample]]:
    """Check code an earlier run recorded (per task id) again, without generating."""
    missing = [p.task_id for p in problems if p.task_id not in recorded]
    if missing:
        raise ValueError(f"the report has no code for {len(missing)} problems, e.g. {missing[0]}")

    def one(problem: Problem) -> tuple[str, list[Sample]]:
        samples = []
        for code in recorded[problem.task_id]:
            result = check_program(problem, solution_program(problem, code))
            samples.append(Sample(result.status, _tail(result) or result.reason, code=code))
        if on_done:
            on_done(problem, samples)
        return problem.task_id, samples

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, problems))


async def evaluate_generated(
    model: TwincoreChatModel,
    problems: Sequence[Problem],
    *,
    samples: int = 1,
    rounds: int = 0,
    workers: int = 2,
    concurrency: int = 8,
    max_tokens: int = 768,
    on_done: OnDone | None = None,
    ladder: Ladder | None = None,
) -> dict[str, list[Sample]]:
    """`samples` candidates per problem written by `model`, each checked in the sandbox; a
    failing round climbs `ladder` (the loop's: repair rounds, then the other core for `auto`)."""
    slots = asyncio.Semaphore(workers)
    in_flight = asyncio.Semaphore(max(concurrency // samples, 1))

    async def one(problem: Problem) -> tuple[str, list[Sample]]:
        task = CodeTask(language=problem.language, signature=problem.prompt)
        async with in_flight:
            loop = LoopRun(
                model,
                task,
                lambda code: check_program(problem, solution_program(problem, code)),
                n=samples,
                rounds=rounds,
                max_tokens=max_tokens,
                sandbox_slots=slots,
                ladder=ladder,
            )
            outcome = await loop.run()
        statuses = [c.attempts[-1].result.status for c in outcome.candidates]
        logger.info("%s: %s", problem.task_id, ",".join(statuses))  # long runs under nohup
        out = []
        for candidate in outcome.candidates:
            last = candidate.attempts[-1]
            out.append(
                Sample(
                    last.result.status,
                    _tail(last.result) or last.result.reason,
                    rounds=len(candidate.attempts) - 1,
                    core=last.core,
                    completion_tokens=sum(a.completion_tokens for a in candidate.attempts),
                    code=last.code,
                )
            )
        if on_done:
            on_done(problem, out)
        return problem.task_id, out

    pairs = await asyncio.gather(*(one(p) for p in problems))
    return dict(pairs)


def report(
    problems: Sequence[Problem],
    results: dict[str, list[Sample]],
    *,
    ks: Sequence[int],
    solutions: Solutions,
    wall_s: float,
    model: str | None = None,
    include_code: bool = False,
) -> dict[str, Any]:
    """pass@k for each k the sample count allows, and every problem's verdicts."""
    counts = [(len(results[p.task_id]), _passed(results[p.task_id])) for p in problems]
    samples = min(n for n, _ in counts)
    out: dict[str, Any] = {
        "problems": len(problems),
        "solutions": solutions,
        "samples": samples,
        "model": model,
        "passed": sum(1 for _, c in counts if c > 0),
        "wall_s": round(wall_s, 1),
    }
    for k in ks:
        if k <= samples:
            out[f"pass_at_{k}"] = round(mean_pass_at_k(counts, k), 4)
    by_language: dict[str, list[tuple[int, int]]] = {}
    for problem, count in zip(problems, counts, strict=True):
        by_language.setdefault(problem.language, []).append(count)
    out["by_language"] = {
        language: {"problems": len(c), "pass_at_1": round(mean_pass_at_k(c, 1), 4)}
        for language, c in by_language.items()
    }
    out["per_problem"] = [
        problem_row(p, results[p.task_id], include_code=include_code) for p in problems
    ]
    return out


def problem_row(
    problem: Problem, samples: list[Sample], *, include_code: bool = False
) -> dict[str, Any]:
    """One problem's verdicts as the report (and the streamed rows) show them."""
    return {
        "task_id": problem.task_id,
        "language": problem.language,
        "samples": len(samples),
        "passed": _passed(samples),
        "statuses": [s.status for s in samples],
        "reason": next((s.reason for s in samples if s.status != "ok"), ""),
        "rounds": [s.rounds for s in samples],
        "completion_tokens": sum(s.completion_tokens for s in samples),
        **({"code": [s.code for s in samples]} if include_code else {}),
    }


def _passed(samples: list[Sample]) -> int:
    return sum(1 for s in samples if s.status == "ok")


def _tail(result: RunResult) -> str:
    """The line that says what went wrong: the compiler's first error, Python's last line,
    the JVM's exception line (not its stack frames)."""
    if result.status == "compile_error":
        errors = [line for line in result.compile_output.splitlines() if "error" in line]
        return errors[0].strip()[:300] if errors else result.reason
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.lstrip().startswith(("at ", "..."))]
    return lines[-1].strip()[:300] if lines else ""
