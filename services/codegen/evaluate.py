"""`twincore eval codegen`: load problems, solve or check them, compute pass@k, save the report.

Generation builds only the core it evaluates (or both for `auto`) in this process, behind the
router the settings describe; the report goes to `<data_dir>/evals/codegen-<name>.json`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twincore.platform.cores import CoreServer
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings
from twincore.services.codegen.harness import (
    Solutions,
    Timer,
    evaluate_generated,
    evaluate_solutions,
    report,
    rescore,
)
from twincore.services.codegen.llm import codegen_chat_model
from twincore.services.codegen.problems import Problem, load_problems, shipped_problems


def resolve_problems(name_or_path: str, limit: int | None = None) -> list[Problem]:
    """Problems from a file, or a shipped set by name (`humaneval`, `java`, `cpp`)."""
    path = Path(name_or_path)
    if not path.exists():
        path = shipped_problems(name_or_path)
    problems = load_problems(path)
    return problems[:limit] if limit else problems


def evaluate(
    settings: Settings,
    problems: Sequence[Problem],
    *,
    solutions: Solutions,
    samples: int = 1,
    ks: Sequence[int] = (1,),
    model: str = "deep",
    rounds: int = 0,
    workers: int = 2,
    on_done: Callable[[], None] | None = None,
    include_code: bool = False,
    recorded: Path | None = None,
) -> dict[str, Any]:
    """The report of one evaluation; `recorded` re-checks the code of an earlier report."""
    timer = Timer()
    if recorded is not None:
        previous = json.loads(recorded.read_text(encoding="utf-8"))
        codes = {row["task_id"]: row["code"] for row in previous["per_problem"] if "code" in row}
        results = rescore(problems, codes, workers=workers, on_done=on_done)
        out = report(
            problems,
            results,
            ks=ks,
            solutions="generate",
            wall_s=timer.elapsed,
            model=previous.get("model"),
            include_code=True,
        )
        out["rescored"] = str(recorded)
        return out
    if solutions != "generate":
        results = evaluate_solutions(problems, solutions, workers=workers, on_done=on_done)
        return report(problems, results, ks=ks, solutions=solutions, wall_s=timer.elapsed)
    outcome = asyncio.run(_generate(settings, problems, samples, model, rounds, workers, on_done))
    out = report(
        problems,
        outcome,
        ks=ks,
        solutions=solutions,
        wall_s=timer.elapsed,
        model=model,
        include_code=include_code,
    )
    out["rounds"] = rounds
    out["cores"] = {"deep": settings.cores.deep.model, "swift": settings.cores.swift.model}
    out["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return out


async def _generate(
    settings: Settings,
    problems: Sequence[Problem],
    samples: int,
    model: str,
    rounds: int,
    workers: int,
    on_done: Callable[[], None] | None,
) -> Any:
    names = ("deep", "swift") if model == "auto" else (model,)
    if any(name not in ("deep", "swift") for name in names):
        raise ValueError(f"model must be auto, deep or swift, got {model!r}")
    cores = {
        name: CoreServer(name, getattr(settings.cores, name), data_dir=settings.data_dir)
        for name in names
    }
    try:
        chat = codegen_chat_model(build_router(cores, settings), model=model)
        return await evaluate_generated(
            chat, problems, samples=samples, rounds=rounds, workers=workers, on_done=on_done
        )
    finally:
        for core in cores.values():
            await core.aclose()


def save_report(settings: Settings, name: str, data: dict[str, Any]) -> Path:
    path = settings.data_dir / "evals" / f"codegen-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
