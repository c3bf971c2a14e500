"""`twincore eval router`: answer the workload on both cores, compare strategies, save a report.

The report goes to `<data_dir>/evals/router.json`, where the console plots it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twincore.platform.embedded import build_cores
from twincore.platform.evals.answers import Answer, answer_all
from twincore.platform.evals.router_eval import compare
from twincore.platform.evals.tasks import GROUPS, Task, load_workload
from twincore.platform.router.router import Router
from twincore.platform.router.setup import build_policy
from twincore.platform.settings import Settings

CORES = ("swift", "deep")


def report_path(settings: Settings) -> Path:
    return settings.data_dir / "evals" / "router.json"


def answers_path(settings: Settings) -> Path:
    """Every recorded answer of the last run, one JSON line each (`--answers` re-scores them)."""
    return settings.data_dir / "evals" / "router-answers.jsonl"


def read_answers(path: Path) -> dict[str, dict[str, Answer]]:
    answers: dict[str, dict[str, Answer]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            answer = Answer(**json.loads(line))
            answers.setdefault(answer.core, {})[answer.task_id] = answer
    return answers


def write_answers(path: Path, answers: dict[str, dict[str, Answer]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(asdict(a)) for by_task in answers.values() for a in by_task.values()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def by_group(tasks: list[Task], answers: dict[str, dict[str, Answer]]) -> dict[str, Any]:
    """Pass rate and mean completion tokens of each core on each task group."""
    out: dict[str, Any] = {}
    for group in GROUPS:
        ids = [t.id for t in tasks if t.group == group]
        if not ids:
            continue
        out[group] = {
            core: {
                "quality": round(sum(answers[core][i].passed for i in ids) / len(ids), 4),
                "completion_tokens": round(
                    sum(answers[core][i].completion_tokens for i in ids) / len(ids), 1
                ),
            }
            for core in answers
        }
        out[group]["tasks"] = len(ids)
    return out


async def evaluate_router(
    settings: Settings,
    *,
    per_group: int | None = None,
    seed: int = 0,
    on_answer: Callable[[str], None] | None = None,
    recorded: Path | None = None,
) -> dict[str, Any]:
    """Answer the workload on both cores (or take the answers `recorded` by an earlier run,
    to score another policy without generating again), compare strategies, save everything."""
    started = time.perf_counter()
    tasks = load_workload(per_group=per_group, seed=seed)
    policy = build_policy(settings)
    if recorded is not None:
        answers = read_answers(recorded)
        missing = [t.id for t in tasks if any(t.id not in answers.get(c, {}) for c in CORES)]
        if missing:
            raise ValueError(
                f"{recorded} has no answers for {len(missing)} tasks, e.g. {missing[0]}"
            )
    else:
        cores = build_cores(settings)
        try:
            router = Router(cores, policy)
            answers = await answer_all(router, tasks, on_done=on_answer)
        finally:
            for core in cores.values():
                await core.aclose()
        write_answers(answers_path(settings), answers)
    report = compare(policy, tasks, answers)
    report.update(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tasks=len(tasks),
        groups=by_group(tasks, answers),
        cores={
            name: cfg.model
            for name, cfg in (("deep", settings.cores.deep), ("swift", settings.cores.swift))
        },
        price=policy.config.price,
        classifier=policy.classifier.version,
        policy=str(settings.router.policy or "packaged"),
        answers=str(recorded or answers_path(settings)),
        duration_s=round(time.perf_counter() - started, 1),
    )
    rounded: dict[str, Any] = _rounded(report)
    return rounded


def save_report(settings: Settings, report: dict[str, Any]) -> Path:
    path = report_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    temporary.replace(path)  # the console never reads half a report
    return path


def run(settings: Settings, **options: Any) -> dict[str, Any]:
    return asyncio.run(evaluate_router(settings, **options))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
