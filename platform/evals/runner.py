"""`twincore eval router`: every service's workload answered on both cores, strategies compared.

Each item is answered once per core, one attempt, on the service itself (its prompts, its
stores, its checker), with escalation cut to the first rung; the escalating strategies are then
computed from those records. The report is read on the `report` split (the fitted policy never
saw it); answers are kept in `<data_dir>/evals/router-answers.jsonl`, so `--answers` re-scores
them and `twincore router fit` fits on their calibration half. The report goes to
`<data_dir>/evals/router.json`, where the console plots it.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twincore.platform.components import load_components, resolve
from twincore.platform.embedded import build_cores
from twincore.platform.evals.answers import Answer, answer_items
from twincore.platform.evals.router_eval import compare
from twincore.platform.evals.workloads import (
    SPLITS,
    WorkItem,
    Workload,
    single_attempt_policy,
    split_of,
)
from twincore.platform.router.router import Router
from twincore.platform.router.setup import build_policy
from twincore.platform.settings import Settings

CORES = ("swift", "deep")


def report_path(settings: Settings) -> Path:
    return settings.data_dir / "evals" / "router.json"


def answers_path(settings: Settings) -> Path:
    """Every recorded answer of the last run, one JSON line each."""
    return settings.data_dir / "evals" / "router-answers.jsonl"


def workloads(services: Sequence[str] | None = None) -> list[Workload]:
    """The registered services' workloads (those named in `services`, when given)."""
    found: list[Workload] = []
    for component in load_components()[0]:
        if component.workload and (services is None or component.name in services):
            found.append(resolve(component.workload))
    known = {w.service for w in found}
    missing = sorted(set(services or ()) - known)
    if missing:
        raise ValueError(f"no router workload for {', '.join(missing)}; known: {sorted(known)}")
    return found


def load_items(per_service: int | None, services: Sequence[str] | None = None) -> list[WorkItem]:
    return [item for w in workloads(services) for item in w.items(per_service)]


def read_answers(path: Path) -> dict[str, dict[str, Answer]]:
    answers: dict[str, dict[str, Answer]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            answer = Answer(**json.loads(line))
            answers.setdefault(answer.core, {})[answer.item_id] = answer
    return answers


def write_answers(path: Path, answers: dict[str, dict[str, Answer]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(asdict(a)) for by_item in answers.values() for a in by_item.values()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def answer_workloads(
    settings: Settings,
    per_service: int | None,
    services: Sequence[str] | None = None,
    *,
    on_answer: Callable[[Answer], None] | None = None,
) -> dict[str, dict[str, Answer]]:
    """Every item of every workload on swift, then on deep (one core busy at a time)."""
    answers: dict[str, dict[str, Answer]] = {core: {} for core in CORES}
    cores = build_cores(settings)
    try:
        with tempfile.TemporaryDirectory(prefix="twincore-eval-") as folder:
            single = single_attempt_policy(settings, Path(folder))
            router = Router(cores, build_policy(single))
            for workload in workloads(services):
                items = workload.items(per_service)
                async with workload.open(router, single) as answerer:
                    for core in CORES:
                        answers[core].update(
                            await answer_items(answerer, items, core, on_done=on_answer)
                        )
    finally:
        for server in cores.values():
            await server.aclose()
    return answers


async def evaluate_router(
    settings: Settings,
    *,
    per_service: int | None = None,
    services: Sequence[str] | None = None,
    split: str = "report",
    on_answer: Callable[[Answer], None] | None = None,
    recorded: Path | None = None,
) -> dict[str, Any]:
    """Answer the workloads on both cores (or take the answers `recorded` by an earlier run,
    to score another policy without generating again), compare strategies on `split`."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {[*SPLITS, 'all']}, got {split!r}")
    started = time.perf_counter()
    items = load_items(per_service, services)
    policy = build_policy(settings)
    if recorded is not None:
        answers = read_answers(recorded)
        missing = [i.id for i in items if any(i.id not in answers.get(c, {}) for c in CORES)]
        if missing:
            raise ValueError(
                f"{recorded} has no answers for {len(missing)} items, e.g. {missing[0]}"
            )
    else:
        answers = await answer_workloads(settings, per_service, services, on_answer=on_answer)
        write_answers(answers_path(settings), answers)
    scored = [i for i in items if split == "all" or split_of(i.id) == split]
    if not scored:
        raise ValueError(f"no items fall in the {split!r} split; evaluate more items")
    report = compare(policy, scored, answers)
    report.update(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        split=split,
        items=len(scored),
        items_answered=len(items),
        cores={
            name: cfg.model
            for name, cfg in (("deep", settings.cores.deep), ("swift", settings.cores.swift))
        },
        price=policy.config.price,
        classifier=policy.classifier.version,
        policy=str(settings.router.policy or "packaged"),
        policy_version=policy_version(policy.config.provenance),
        answers=str(recorded or answers_path(settings)),
        duration_s=round(time.perf_counter() - started, 1),
    )
    rounded: dict[str, Any] = _rounded(report)
    return rounded


def policy_version(provenance: dict[str, object]) -> str:
    """`fitted <date> on <n> calibration items`, or `hand-set` for a policy never fitted."""
    if not provenance:
        return "hand-set"
    return f"fitted {provenance.get('fitted_at', '?')} ({provenance.get('digest', '?')})"


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
