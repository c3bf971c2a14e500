"""Every task answered once by each core through the router, checked by its verifier.

Routing strategies are then compared offline on these answers (as RouteLLM does): a strategy
only decides which core's recorded answer counts, so every strategy sees the same answers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.platform.evals.tasks import Task
from twincore.platform.evals.verify import check_code_async, check_math
from twincore.platform.router.cascade import collect_events, confidence
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import RouteRequest

CONCURRENCY = 16
"""Requests in flight per core: the engine batches them."""


@dataclass(frozen=True)
class Answer:
    """One core's answer to one task."""

    task_id: str
    core: str
    passed: bool
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    mean_logprob: float
    text: str
    error: str | None = None


def task_request(task: Task, model: str) -> RouteRequest:
    params = SamplingParams(max_tokens=task.max_tokens, temperature=0.0, logprobs=True)
    core_request = CoreRequest(
        messages=[{"role": "user", "content": task.prompt}],
        params=params,
        request_id=f"eval-{uuid.uuid4().hex[:12]}",
    )
    return RouteRequest(core_request, model)


async def answer_task(router: RouterClient, task: Task, core: str) -> Answer:
    started = time.perf_counter()
    collected = await collect_events(router.stream(task_request(task, core)))
    latency = time.perf_counter() - started
    text = collected.text
    if collected.error is not None:
        passed = False
    elif task.domain == "math":
        passed = check_math(text, task.answer)
    else:
        passed = (await check_code_async(text, task)).passed
    return Answer(
        task_id=task.id,
        core=core,
        passed=passed,
        prompt_tokens=collected.prompt_tokens,
        completion_tokens=collected.completion_tokens,
        latency_s=latency,
        mean_logprob=confidence(collected.chunks),
        text=text,
        error=collected.error,
    )


async def answer_all(
    router: RouterClient,
    tasks: list[Task],
    cores: tuple[str, ...] = ("swift", "deep"),
    *,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Answer]]:
    """answers[core][task_id], one core at a time so the cores do not share the CPU."""
    answers: dict[str, dict[str, Answer]] = {}
    for core in cores:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def run(task: Task, core: str = core, limit: asyncio.Semaphore = limit) -> Answer:
            async with limit:
                answer = await answer_task(router, task, core)
            if on_done is not None:
                on_done(core)
            return answer

        results = await asyncio.gather(*(run(task) for task in tasks))
        answers[core] = {a.task_id: a for a in results}
    return answers
