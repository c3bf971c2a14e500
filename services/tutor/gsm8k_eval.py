"""Part (c) of `twincore eval tutor`: GSM8K answer accuracy per core, program-aided vs direct.

Each (core, mode) run answers every problem with `solve_word_problem` and is scored by the
normalised voted answer against the gold number. Cores are evaluated one at a time (only that
core is built, then closed), so they never share the CPU; problems of one run go to the core
`CONCURRENCY` at a time, which its engine batches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.cores import CoreServer
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings
from twincore.services.tutor.gsm8k import GsmProblem
from twincore.services.tutor.llm import tutor_chat_model
from twincore.services.tutor.word_problems import (
    MAX_CANDIDATES,
    Mode,
    WordSolution,
    solve_word_problem,
)

logger = logging.getLogger(__name__)

CONCURRENCY = 8
CORES = ("swift", "deep")
DEFAULT_LIMIT = 10
"""Problems per run unless told otherwise: `eval tutor` (part `all`) stays a few minutes."""


@dataclass(frozen=True)
class GsmOptions:
    """What part (c) evaluates: the file (None: shipped), cores, modes, the first `limit`
    problems (None: all) and candidates per problem (voting)."""

    path: Path | None = None
    cores: tuple[str, ...] = CORES
    modes: tuple[Mode, ...] = ("pal", "direct")
    limit: int | None = DEFAULT_LIMIT
    candidates: int = 1


def run_name(core: str, mode: str) -> str:
    return f"{core}/{mode}"


async def _answer(
    model: BaseChatModel,
    problem: GsmProblem,
    mode: Mode,
    candidates: int,
    limit: asyncio.Semaphore,
    sandbox: asyncio.Semaphore,
) -> dict[str, Any]:
    async with limit:
        try:
            solution: WordSolution = await solve_word_problem(
                problem.question, model, candidates=candidates, mode=mode, sandbox_slots=sandbox
            )
        except (TwincoreError, RuntimeError, OSError) as error:
            logger.warning("GSM8K line %d (%s) failed: %s", problem.line, mode, error)
            return {"line": problem.line, "answer": None, "correct": False, "error": str(error)}
    return {
        "line": problem.line,
        "answer": solution.answer,
        "correct": solution.answer == problem.gold,
        "votes": solution.votes,
        "statuses": [c.status for c in solution.candidates],
        "replies": [c.reply for c in solution.candidates],
        "errors": [c.error for c in solution.candidates if c.error],
    }


async def evaluate_runs(
    model: BaseChatModel,
    core: str,
    problems: Sequence[GsmProblem],
    modes: Sequence[Mode],
    *,
    candidates: int = 1,
    on_done: Callable[[], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """One run per mode on one core's chat model: accuracy, counts, wall time, answers."""
    runs: dict[str, dict[str, Any]] = {}
    sandbox = asyncio.Semaphore(2)
    for mode in modes:
        limit = asyncio.Semaphore(CONCURRENCY)
        started = time.perf_counter()

        async def one(
            problem: GsmProblem, mode: Mode = mode, limit: asyncio.Semaphore = limit
        ) -> dict[str, Any]:
            row = await _answer(model, problem, mode, candidates, limit, sandbox)
            if on_done is not None:
                on_done()
            return row

        rows = await asyncio.gather(*(one(p) for p in problems))
        correct = sum(row["correct"] for row in rows)
        runs[run_name(core, mode)] = {
            "core": core,
            "mode": mode,
            "problems": len(rows),
            "correct": correct,
            "answered": sum(row["answer"] is not None for row in rows),
            "accuracy": correct / len(rows) if rows else 0.0,
            "wall_s": round(time.perf_counter() - started, 1),
            "answers": rows,
        }
        logger.info(
            "GSM8K %s: %d/%d correct in %.0f s",
            run_name(core, mode),
            correct,
            len(rows),
            runs[run_name(core, mode)]["wall_s"],
        )
    return runs


async def _evaluate(
    settings: Settings,
    problems: Sequence[GsmProblem],
    cores: Sequence[str],
    modes: Sequence[Mode],
    candidates: int,
    on_done: Callable[[], None] | None,
) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    for name in cores:
        core = CoreServer(name, getattr(settings.cores, name), data_dir=settings.data_dir)
        try:
            model = tutor_chat_model(build_router({name: core}, settings), model=name)
            runs.update(
                await evaluate_runs(
                    model, name, problems, modes, candidates=candidates, on_done=on_done
                )
            )
        finally:
            await core.aclose()
    return runs


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
        "gsm8k_accuracy": correct / total if total else 0.0,
        "gsm8k_accuracy_by_run": {name: run["accuracy"] for name, run in runs.items()},
        "gsm8k_runs": {
            name: {key: value for key, value in run.items() if key != "answers"}
            for name, run in runs.items()
        },
        "gsm8k_per_problem": per_problem,
    }


def evaluate_gsm8k(
    settings: Settings,
    problems: Sequence[GsmProblem],
    options: GsmOptions,
    *,
    on_done: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the report's GSM8K part, the full runs with every reply) on the configured cores."""
    unknown = [core for core in options.cores if core not in CORES]
    if unknown:
        raise ValueError(f"cores must be swift or deep, not {', '.join(unknown)}")
    if not 1 <= options.candidates <= MAX_CANDIDATES:
        raise ValueError(f"candidates must be between 1 and {MAX_CANDIDATES}")
    runs = asyncio.run(
        _evaluate(settings, problems, options.cores, options.modes, options.candidates, on_done)
    )
    return summarise(runs, problems, options.candidates), runs


def save_details(settings: Settings, runs: dict[str, dict[str, Any]]) -> Path:
    """Every reply and answer of the runs, to `<data_dir>/evals/tutor-gsm8k.json`."""
    path = settings.data_dir / "evals" / "tutor-gsm8k.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(runs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
