"""`twincore eval writing`: write the fixed items on each core and score both conditions.

Every item runs once per core as a guided run: the policy's escalation ladder for writing with
the core pinned (best-of-n with checker selection, then a `repair` rung when no candidate met
every constraint; `other` does not apply to a pinned core). Its first candidate is the greedy
first sample with no checker involved, i.e. exactly what `WritingRun(guided=False)` returns, so
the unguided condition is read off the same run and the two conditions differ only by what the
checkers add. Runs go through the router with the
service marked `writing`, a few at once so the engine's continuous batching shares the cores.

The cores are built in this process (`platform.evals.local`); each run's two scored rows are
appended to `<data_dir>/evals/writing-<name>.rows.jsonl` as it finishes, so an interrupted
evaluation keeps its work (`rescore_file` reads those rows too), and the report goes to
`writing-<name>.json` at the end. `make_drafts` runs the same jobs to grow the labelled corpus.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.evals.local import (
    RowLog,
    local_router,
    read_rows,
    save_report,
    service_models,
)
from twincore.platform.router.escalation import Ladder
from twincore.platform.router.setup import service_ladder
from twincore.platform.settings import Settings
from twincore.services.writing.checkers import check_text
from twincore.services.writing.classify.classifier import StyleClassifier, load_classifier
from twincore.services.writing.classify.labelled import DRAFT_TOPICS, labelled_rows
from twincore.services.writing.evaluation.items import EvalItem, Job, eval_items, load_topics
from twincore.services.writing.evaluation.report import build_report
from twincore.services.writing.generate.drafts import Draft, WritingResult, WritingTask
from twincore.services.writing.generate.run import SERVICE, WritingRun
from twincore.services.writing.registry import Style, get_style

DEFAULT_CANDIDATES = 2
JobDone = Callable[[Job, WritingResult], None]


async def run_jobs(
    chats: Mapping[str, TwincoreChatModel],
    jobs: Sequence[Job],
    *,
    candidates: int,
    classifier: StyleClassifier,
    concurrency: int = 4,
    on_done: JobDone | None = None,
    ladder: Ladder | None = None,
    forms: bool = True,
) -> list[tuple[Job, WritingResult]]:
    """Every job as a guided run (on `ladder`, the default one when None), at most
    `concurrency` at once, in the jobs' order; `on_done(job, result)` as each one finishes.
    `forms=False` writes without the form grammars (the comparison's baseline)."""
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
            ladder=ladder,
            forms=forms,
        )
        async with gate:
            result = await run.run()
        if on_done is not None:
            on_done(job, result)
        return job, result

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def run_local(
    settings: Settings,
    jobs: Sequence[Job],
    cores: Sequence[str],
    *,
    candidates: int,
    concurrency: int,
    classifier: StyleClassifier,
    on_done: JobDone | None,
    forms: bool = True,
) -> list[tuple[Job, WritingResult]]:
    """`run_jobs` on the named cores, built in this process behind the settings' router."""
    async with local_router(settings, cores) as router:
        chats = service_models(router, SERVICE, cores)
        return await run_jobs(
            chats,
            jobs,
            candidates=candidates,
            classifier=classifier,
            concurrency=concurrency,
            on_done=on_done,
            ladder=service_ladder(settings, SERVICE),
            forms=forms,
        )


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
        guided = outcome(job, result.best, "guided", classifier, include_text=include_text)
        guided["attempts"] = len((result.twincore or {}).get("attempts", [])) or 1
        rows.append(guided)
        rows.append(outcome(job, first, "unguided", classifier, include_text=include_text))
    return rows


def evaluate(
    settings: Settings,
    items: Sequence[EvalItem],
    *,
    cores: Sequence[str],
    name: str,
    candidates: int = DEFAULT_CANDIDATES,
    concurrency: int = 4,
    on_done: Callable[[], None] | None = None,
    forms: bool = True,
) -> tuple[dict[str, Any], Path]:
    """Run every item on every core, streaming each run's rows to `writing-<name>.rows.jsonl`;
    the report (see `evaluation.report`) and the path it was saved to."""
    if not items:
        raise ValueError("nothing to evaluate: no items")
    if not 1 <= candidates <= 8:
        raise ValueError("candidates must be between 1 and 8")
    classifier = load_classifier()
    jobs = [Job(core, item) for core in cores for item in items]
    scored: dict[int, list[dict[str, Any]]] = {}  # by id(job): the report keeps the jobs' order
    started = time.monotonic()
    with RowLog(settings, SERVICE, name) as log:

        def finished(job: Job, result: WritingResult) -> None:
            rows = outcomes([(job, result)], classifier)
            for row in rows:
                log.add(row)
            scored[id(job)] = rows
            if on_done is not None:
                on_done()

        asyncio.run(
            run_local(
                settings,
                jobs,
                cores,
                candidates=candidates,
                concurrency=concurrency,
                classifier=classifier,
                on_done=finished,
                forms=forms,
            )
        )
    report = build_report([row for job in jobs for row in scored[id(job)]])
    report["settings"] = {
        "cores": {core: getattr(settings.cores, core).model for core in cores},
        "candidates": candidates,
        "forms": forms,
        "ladder": list(service_ladder(settings, SERVICE).steps),
        "styles": list(dict.fromkeys(item.style.id for item in items)),
        "items_per_core": len(items),
    }
    report["wall_s"] = round(time.monotonic() - started, 1)
    return report, save_report(settings, SERVICE, name, report)


def rescore(recorded: dict[str, Any], classifier: StyleClassifier | None = None) -> dict[str, Any]:
    """The report of an earlier run's recorded texts checked again (current checkers and
    classifier; similarity as recorded): no generation."""
    classifier = classifier or load_classifier()
    rows = []
    for row in recorded.get("rows", []):
        if "text" not in row:
            raise ValueError("the recorded report has no texts to rescore")
        similarity = row.get("similarity") if row.get("mode") == "rewrite" else None
        report = check_text(get_style(row["style"]), row["text"], similarity=similarity)
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


def rescore_file(settings: Settings, path: Path) -> tuple[dict[str, Any], Path]:
    """`rescore` of a saved report (`writing-<name>.json`) or of the rows an interrupted run
    streamed (`writing-<name>.rows.jsonl`), saved as `writing-<name>-rescored.json`."""
    if path.name.endswith(".rows.jsonl"):
        recorded: dict[str, Any] = {"rows": read_rows(path)}
        stem = path.name.removesuffix(".rows.jsonl")
    else:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        stem = path.stem
    report = rescore(recorded)
    name = stem.removeprefix(f"{SERVICE}-") + "-rescored"
    return report, save_report(settings, SERVICE, name, report)


def make_drafts(
    settings: Settings,
    styles: Sequence[Style],
    *,
    cores: Sequence[str],
    candidates: int = 2,
    limit: int | None = None,
    concurrency: int = 4,
    on_done: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Compose on the draft topics with each core; the rows the labelling rule keeps."""
    items = eval_items(styles, limit=limit, topics=load_topics(DRAFT_TOPICS), modes=("compose",))
    jobs = [Job(core, item) for core in cores for item in items]

    def finished(_job: Job, _result: WritingResult) -> None:
        if on_done is not None:
            on_done()

    results = asyncio.run(
        run_local(
            settings,
            jobs,
            cores,
            candidates=candidates,
            concurrency=concurrency,
            classifier=load_classifier(),
            on_done=finished,
        )
    )
    return labelled_rows(results, {core: getattr(settings.cores, core).model for core in cores})
