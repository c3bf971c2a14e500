"""`twincore eval router`: answer the workload on both cores, compare strategies, save a report.

The report goes to `<data_dir>/evals/router.json`, where the console plots it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
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


def report_path(settings: Settings) -> Path:
    return settings.data_dir / "evals" / "router.json"


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
) -> dict[str, Any]:
    started = time.perf_counter()
    tasks = load_workload(per_group=per_group, seed=seed)
    policy = build_policy(settings)
    cores = build_cores(settings)
    try:
        router = Router(cores, policy)
        answers = await answer_all(router, tasks, on_done=on_answer)
    finally:
        for core in cores.values():
            await core.aclose()
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
