"""The shipped step-check suite: load it and score the checker's first-wrong-step answers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twincore.services.tutor.steps.checker import check_steps

STEP_CHECKS = Path(__file__).parents[1] / "data" / "step_checks.jsonl"


@dataclass(frozen=True)
class StepCheckItem:
    """A problem, a student's steps, and the planted first wrong step (None if all correct)."""

    problem: str
    steps: tuple[str, ...]
    wrong_index: int | None
    wrong_kind: str | None


def load_step_checks(path: Path = STEP_CHECKS) -> list[StepCheckItem]:
    """Read the JSONL suite; a malformed line is a clear error naming the line."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                StepCheckItem(
                    row["problem"], tuple(row["steps"]), row["wrong_index"], row["wrong_kind"]
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a step-check item: {exc}") from exc
    return items


def evaluate_step_checks(
    items: Iterable[StepCheckItem], on_done: Callable[[], None] | None = None
) -> dict[str, Any]:
    """step_check_accuracy: the checker names the planted step and kind (or finds none)."""
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    for item in items:
        wrong = check_steps(item.problem, list(item.steps)).first_wrong
        got = (wrong.index, str(wrong.verdict)) if wrong else (None, None)
        label = item.wrong_kind or "correct"
        totals[label] += 1
        if got == (item.wrong_index, item.wrong_kind):
            right[label] += 1
        else:
            failures.append(
                {
                    "problem": item.problem,
                    "expected": [item.wrong_index, item.wrong_kind],
                    "got": list(got),
                }
            )
        if on_done is not None:
            on_done()
    count = sum(totals.values())
    return {
        "step_check_items": count,
        "step_check_accuracy": sum(right.values()) / count if count else 0.0,
        "step_check_per_kind": {k: right[k] / n for k, n in sorted(totals.items())},
        "step_check_failures": failures,
    }
