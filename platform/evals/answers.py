"""Every work item answered once by each core (one attempt, pinned), judged twice.

Routing strategies are then compared offline on these answers (as RouteLLM does): a strategy
only decides which core's recorded answer counts, and an escalating strategy pays for both
answers where it escalates; so every strategy sees the same answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from twincore.platform.evals.workloads import Answerer, ItemResult, WorkItem

CONCURRENCY = 4
"""Items in flight per core: the engine batches them; services also run checkers."""


@dataclass(frozen=True)
class Answer:
    """One core's single-attempt answer to one work item."""

    item_id: str
    service: str
    core: str
    passed: bool
    """Ground truth: the item's gold answer, execution match or hidden tests."""
    verified: bool
    """The service's own checker, as escalation would see it at run time."""
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    text: str = ""
    error: str | None = None


async def answer_item(answerer: Answerer, item: WorkItem, core: str) -> Answer:
    started = time.perf_counter()
    try:
        result = await answerer(item, core)
    except Exception as error:  # one broken item must not end a long evaluation
        result = ItemResult(False, False, error=f"{type(error).__name__}: {error}"[:500])
    return Answer(
        item_id=item.id,
        service=item.service,
        core=core,
        passed=result.passed,
        verified=result.verified,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        latency_s=time.perf_counter() - started,
        text=result.text[:4000],
        error=result.error,
    )


async def answer_items(
    answerer: Answerer,
    items: Sequence[WorkItem],
    core: str,
    *,
    on_done: Callable[[Answer], None] | None = None,
) -> dict[str, Answer]:
    """answers[item_id] on one core, a few items in flight (the engine batches them)."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def run(item: WorkItem) -> Answer:
        async with limit:
            answer = await answer_item(answerer, item, core)
        if on_done is not None:
            on_done(answer)
        return answer

    results = await asyncio.gather(*(run(item) for item in items))
    return {a.item_id: a for a in results}
