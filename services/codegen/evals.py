"""`twincore eval codegen`: load problems, solve or check them, compute pass@k, save the report.

Generation builds only the core it evaluates (both for `auto`) in this process, behind the
router the settings describe (`platform/evals/local.py`). Each problem's row is appended to
`<data_dir>/evals/codegen-<name>.rows.jsonl` as soon as it is checked, so an interrupted run
keeps its work (`--rescore` takes that file too); the report goes to `codegen-<name>.json`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twincore.platform.evals.local import (
    RowLog,
    core_names,
    local_router,
    read_rows,
    save_report,
    service_models,
)
from twincore.platform.router.setup import service_ladder
from twincore.platform.settings import Settings
from twincore.services.codegen.harness.checks import (
    Sample,
    Solutions,
    evaluate_generated,
    evaluate_solutions,
    problem_row,
    report,
    rescore,
)
from twincore.services.codegen.harness.problems import Problem, load_problems, shipped_problems
from twincore.services.codegen.loop import HINTS, SERVICE

MODELS = ("deep", "swift", "auto")


def resolve_problems(name_or_path: str, limit: int | None = None) -> list[Problem]:
    """Problems from a file, or a shipped set by name (`humaneval`, `java`, `cpp`)."""
    path = Path(name_or_path)
    if not path.exists():
        path = shipped_problems(name_or_path)
    problems = load_problems(path)
    return problems[:limit] if limit else problems


def report_name(problems: str, solutions: Solutions, model: str, *, rescored: bool) -> str:
    """`humaneval-generate-deep`, `java-canonical`, ... (`-rescored` for a re-check)."""
    name = f"{Path(problems).stem}-{solutions}" + (f"-{model}" if solutions == "generate" else "")
    return name + ("-rescored" if rescored else "")


def recorded_code(path: Path) -> tuple[dict[str, list[str]], str | None]:
    """The code per task id (and the model) an earlier report recorded; a `.jsonl` path is
    the rows an interrupted run streamed."""
    if path.suffix == ".jsonl":
        rows, model = read_rows(path), None
    else:
        previous = json.loads(path.read_text(encoding="utf-8"))
        rows, model = previous["per_problem"], previous.get("model")
    return {row["task_id"]: row["code"] for row in rows if "code" in row}, model


def evaluate(
    settings: Settings,
    problems: Sequence[Problem],
    *,
    name: str,
    solutions: Solutions,
    samples: int = 1,
    ks: Sequence[int] = (1,),
    model: str = "deep",
    rounds: int = 0,
    workers: int = 2,
    on_done: Callable[[], None] | None = None,
    recorded: Path | None = None,
) -> tuple[dict[str, Any], Path]:
    """Run one evaluation (re-check the code `recorded` by an earlier one); the report and
    where it was saved. Generated code is kept in the rows and the report."""
    if solutions == "generate" and recorded is None and model not in MODELS:
        raise ValueError(f"model must be auto, deep or swift, got {model!r}")
    started = time.perf_counter()
    include_code = solutions == "generate" or recorded is not None
    with RowLog(settings, SERVICE, name) as rows:

        def finished(problem: Problem, done: list[Sample]) -> None:
            rows.add(problem_row(problem, done, include_code=include_code))
            if on_done:
                on_done()

        if recorded is not None:
            codes, recorded_model = recorded_code(recorded)
            results = rescore(problems, codes, workers=workers, on_done=finished)
            out = report(
                problems,
                results,
                ks=ks,
                solutions="generate",
                wall_s=time.perf_counter() - started,
                model=recorded_model,
                include_code=True,
            )
            out["rescored"] = str(recorded)
        elif solutions != "generate":
            results = evaluate_solutions(problems, solutions, workers=workers, on_done=finished)
            out = report(
                problems, results, ks=ks, solutions=solutions, wall_s=time.perf_counter() - started
            )
        else:
            results = asyncio.run(
                _generate(settings, problems, samples, model, rounds, workers, finished)
            )
            out = report(
                problems,
                results,
                ks=ks,
                solutions=solutions,
                wall_s=time.perf_counter() - started,
                model=model,
                include_code=True,
            )
            out["rounds"] = rounds
            out["cores"] = {"deep": settings.cores.deep.model, "swift": settings.cores.swift.model}
    return out, save_report(settings, SERVICE, name, out)


async def _generate(
    settings: Settings,
    problems: Sequence[Problem],
    samples: int,
    model: str,
    rounds: int,
    workers: int,
    on_done: Callable[[Problem, list[Sample]], None],
) -> dict[str, list[Sample]]:
    async with local_router(settings, core_names(model)) as router:
        chat = service_models(router, SERVICE, [model], HINTS)[model]
        return await evaluate_generated(
            chat,
            problems,
            samples=samples,
            rounds=rounds,
            workers=workers,
            on_done=on_done,
            ladder=service_ladder(settings, SERVICE),
        )
