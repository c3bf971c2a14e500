"""Friendly reasons through the router's escalation: `check_rewrite` is the checker, each rung
asks again only for the steps whose rewrite it refused.

A rung's attempt asks the rung's core for every step still without an accepted rewrite (`more`:
that many sampled rewrites per step, the first accepted one kept; `other`: the other core). The
set passes when every step has an accepted rewrite; otherwise the refused steps keep the
solver's reason, so the student always sees a correct reason, and the attempts say why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from twincore.platform.errors import Invalid
from twincore.platform.router.escalation import Escalation, Ladder, Rung, Tried, Verdict, escalate
from twincore.platform.router.types import AUTO
from twincore.services.tutor.solvers.base import WorkedStep
from twincore.services.tutor.steps.explain import (
    CONCURRENCY,
    LANGUAGE_NAMES,
    FriendlyReason,
    Language,
    rewrite_step,
)

SAMPLING_TEMPERATURE = 0.7


@dataclass(frozen=True)
class CheckedReasons:
    """One reason per step and the escalation that produced them (the `twincore` block)."""

    reasons: list[FriendlyReason]
    escalation: Escalation[list[FriendlyReason]]


def reasons_verdict(reasons: Sequence[FriendlyReason]) -> Verdict:
    """Passed when every step's rewrite was accepted; score: the accepted share."""
    refused = [(i, r) for i, r in enumerate(reasons) if r.source == "solver"]
    score = 1 - len(refused) / len(reasons) if reasons else 1.0
    if not refused:
        return Verdict(True, (f"all {len(reasons)} rewrites passed the check",), score)
    return Verdict(False, tuple(f"step {i + 1}: {r.rejected}" for i, r in refused), score)


async def _best_rewrite(
    steps: Sequence[WorkedStep],
    index: int,
    language: Language,
    model: BaseChatModel,
    slots: asyncio.Semaphore,
    rung: Rung,
) -> FriendlyReason:
    """The first accepted of the rung's rewrites of one step (else the last refusal)."""
    options: dict[str, Any] = {} if rung.model == AUTO else {"model": rung.model}
    count = rung.candidates or 1
    reason: FriendlyReason | None = None
    for number in range(count):
        if rung.step == "more" or number > 0:  # the greedy rewrite on this core was refused
            options.update(temperature=SAMPLING_TEMPERATURE, top_p=0.95, seed=number + 1)
        reason = await rewrite_step(steps, index, language, model, slots, options)
        if reason.source == "core":
            break
    assert reason is not None
    return reason


async def explain_checked(
    steps: Sequence[WorkedStep],
    language: Language,
    model: BaseChatModel,
    ladder: Ladder,
    *,
    requested: str = AUTO,
) -> CheckedReasons:
    """One reason per step, climbing `ladder` while `check_rewrite` refuses any rewrite."""
    if language not in LANGUAGE_NAMES:
        raise Invalid(f"language must be en or zh, not {language!r}", param="language")
    slots = asyncio.Semaphore(CONCURRENCY)
    kept: dict[int, FriendlyReason] = {}

    async def attempt(rung: Rung) -> Tried[list[FriendlyReason]]:
        missing = [i for i in range(len(steps)) if i not in kept or kept[i].source != "core"]
        fresh = await asyncio.gather(
            *(_best_rewrite(steps, i, language, model, slots, rung) for i in missing)
        )
        kept.update(zip(missing, fresh, strict=True))
        reasons = [kept[i] for i in range(len(steps))]
        core = next((r.core for r in fresh if r.core), rung.model)
        return Tried(
            reasons,
            reasons_verdict(reasons),
            core=core,
            candidates=rung.candidates or 1,
            completion_tokens=sum(r.completion_tokens for r in fresh),
        )

    escalation = await escalate(attempt, ladder, model=requested)
    return CheckedReasons(escalation.answer, escalation)
