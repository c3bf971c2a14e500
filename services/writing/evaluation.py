"""`twincore eval writing`: write the fixed items on each core and score both conditions.

Every item runs once per core as a guided run (best-of-n with checker selection and one revise
turn). Its candidate 0 is the greedy first sample with no checker involved, i.e. exactly what
`WritingRun(guided=False)` returns, so the unguided condition is read off the same run and the
two conditions differ only by what the checkers add. Runs go through the router with the
service marked `writing`, a few at once so the engine's continuous batching shares the cores.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.cores import CoreServer
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings
from twincore.services.writing.checkers import check_text
from twincore.services.writing.classifier import StyleClassifier, load_classifier
from twincore.services.writing.evaluation_items import EvalItem
from twincore.services.writing.evaluation_report import build_report
from twincore.services.writing.generate import (
    Draft,
    WritingResult,
    WritingRun,
    WritingTask,
    writing_chat_model,
)
from twincore.services.writing.registry import get_style

CORES = ("swift", "deep")
DEFAULT_CANDIDATES = 2


@dataclass(frozen=True)
class Job:
    """One item on one core."""

    core: str
    item: EvalItem


def resolve_cores(choice: str) -> tuple[str, ...]:
    """`swift`, `deep` or `both` -> the core names to run."""
    if choice == "both":
        return CORES
    if choice not in CORES:
        raise ValueError(f"core must be swift, deep or both, not {choice!r}")
    return (choice,)


async def run_jobs(
    chats: Mapping[str, TwincoreChatModel],
    jobs: Sequence[Job],
    *,
    candidates: int,
    classifier: StyleClassifier,
    concurrency: int = 4,
    on_done: Callable[[], None] | None = None,
) -> list[tuple[Job, WritingResult]]:
    """Every job as a guided run, at most `concurrency` at once, in the jobs' order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Job) -> tuple[Job, WritingResult]:
        task = WritingTask(job.item.style, job.item.mode, job.item.prompt)
        run = WritingRun(
            chats[job.core],
            task,
            n=candidates,
            max_tokens=job.item.max_tokens,
            classifier=classifier,
        )
        async with gate:
            result = await run.run()
        if on_done is not None:
            on_done()
        return job, result

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def outcome(
    job: Job, draft: Draft, condition: str, classifier: StyleClassifier, *, include_text: bool
) -> dict[str, Any]:
    """One scored text: checker verdict, predicted style, similarity to the source."""
    predicted = classifier.predict(draft.text)
    row: dict[str, Any] = {
        "core": job.core,
        "style": job.item.style.id,
        "mode": job.item.mode,
        "item": job.item.item_id,
        "condition": condition,
        "score": draft.report.score,
        "passed": draft.report.passed,
        "predicted_style": predicted,
        "classified": predicted == job.item.style.id,
        "similarity": draft.similarity,
        "revised": draft.revised,
        "failures": draft.report.reasons,
    }
    if include_text:
        row["text"] = draft.text
    return row


def outcomes(
    results: Sequence[tuple[Job, WritingResult]],
    classifier: StyleClassifier,
    *,
    include_text: bool = True,
) -> list[dict[str, Any]]:
    """Two rows per run: `guided` (the chosen draft) and `unguided` (candidate 0 as written)."""
    rows: list[dict[str, Any]] = []
    for job, result in results:
        first = next(d for d in result.drafts if d.candidate == 0 and not d.revised)
        rows.append(outcome(job, result.best, "guided", classifier, include_text=include_text))
        rows.append(outcome(job, first, "unguided", classifier, include_text=include_text))
    return rows


async def generate_runs(
    settings: Settings,
    jobs: Sequence[Job],
    cores: Sequence[str],
    *,
    candidates: int,
    concurrency: int,
    classifier: StyleClassifier,
    on_done: Callable[[], None] | None,
) -> list[tuple[Job, WritingResult]]:
    """Build the named cores from the settings behind a router, run the jobs, close them."""
    servers = {
        name: CoreServer(name, getattr(settings.cores, name), data_dir=settings.data_dir)
        for name in cores
    }
    try:
        router = build_router(servers, settings)
        chats = {name: writing_chat_model(router, model=name) for name in cores}
        return await run_jobs(
            chats,
            jobs,
            candidates=candidates,
            classifier=classifier,
            concurrency=concurrency,
            on_done=on_done,
        )
    finally:
        for server in servers.values():
            await server.aclose()


def evaluate(
    settings: Settings,
    items: Sequence[EvalItem],
    *,
    cores: Sequence[str],
    candidates: int = DEFAULT_CANDIDATES,
    concurrency: int = 4,
    on_done: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run every item on every core and return the report (see `evaluation_report`)."""
    if not items:
        raise ValueError("nothing to evaluate: no items")
    if not 1 <= candidates <= 8:
        raise ValueError("candidates must be between 1 and 8")
    classifier = load_classifier()
    jobs = [Job(core, item) for core in cores for item in items]
    started = time.monotonic()
    results = asyncio.run(
        generate_runs(
            settings,
            jobs,
            cores,
            candidates=candidates,
            concurrency=concurrency,
            classifier=classifier,
            on_done=on_done,
        )
    )
    report = build_report(outcomes(results, classifier))
    report["settings"] = {
        "cores": {name: getattr(settings.cores, name).model for name in cores},
        "candidates": candidates,
        "revise_turns": 1,
        "styles": list(dict.fromkeys(item.style.id for item in items)),
        "items_per_core": len(items),
    }
    report["wall_s"] = round(time.monotonic() - started, 1)
    report["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def rescore(recorded: dict[str, Any], classifier: StyleClassifier | None = None) -> dict[str, Any]:
    """The report of an earlier run's recorded texts checked again (current checkers and
    classifier; similarity as recorded): no generation."""
    classifier = classifier or load_classifier()
    rows = []
    for row in recorded.get("rows", []):
        if "text" not in row:
            raise ValueError("the recorded report has no texts to rescore")
        report = check_text(get_style(row["style"]), row["text"])
        predicted = classifier.predict(row["text"])
        rows.append(
            {
                **row,
                "score": report.score,
                "passed": report.passed,
                "failures": report.reasons,
                "predicted_style": predicted,
                "classified": predicted == row["style"],
            }
        )
    if not rows:
        raise ValueError("the recorded report has no rows")
    out = build_report(rows)
    for key in ("settings", "wall_s", "created_at"):
        if key in recorded:
            out[key] = recorded[key]
    return out


def save_report(settings: Settings, name: str, data: dict[str, Any]) -> Path:
    """Write the report to `<data_dir>/evals/writing-<name>.json` (atomically)."""
    path = settings.data_dir / "evals" / f"writing-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
