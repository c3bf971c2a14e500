"""Codegen's router-evaluation workload: HumanEval problems, checked by their hidden tests.

One attempt per item: one candidate on the pinned core, run in the sandbox against the
problem's tests, which are both the run-time verifier (a user's tests) and the ground truth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from twincore.platform.evals.workloads import Answerer, ItemResult, WorkItem
from twincore.platform.router.escalation import Ladder
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.codegen.harness.checks import check_program
from twincore.services.codegen.harness.problems import load_problems, solution_program
from twincore.services.codegen.loop import HINTS, SERVICE, CodeTask, LoopRun, codegen_chat_model

HUMANEVAL = Path(__file__).parent / "data" / "humaneval.jsonl"
SINGLE = Ladder(("first",), max_attempts=1)


class CodegenWorkload:
    service = SERVICE

    def items(self, limit: int | None = None) -> list[WorkItem]:
        return [
            WorkItem(f"codegen/{p.task_id}", SERVICE, p.prompt, {"task_id": p.task_id}, HINTS)
            for p in load_problems(HUMANEVAL)[:limit]
        ]

    @asynccontextmanager
    async def open(self, router: RouterClient, settings: Settings) -> AsyncIterator[Answerer]:
        problems = {p.task_id: p for p in load_problems(HUMANEVAL)}
        models = {core: codegen_chat_model(router, model=core) for core in ("swift", "deep")}

        async def answer(item: WorkItem, core: str) -> ItemResult:
            problem = problems[item.payload["task_id"]]
            loop = LoopRun(
                models[core],
                CodeTask(language=problem.language, signature=problem.prompt),
                lambda code: check_program(problem, solution_program(problem, code)),
                n=1,
                rounds=0,
                ladder=SINGLE,
            )
            outcome = await loop.run()
            tokens = sum(a.completion_tokens for c in outcome.candidates for a in c.attempts)
            code = outcome.best.attempts[-1].code if outcome.best else ""
            return ItemResult(outcome.passed, outcome.passed, code, 0, tokens)

        yield answer


WORKLOAD = CodegenWorkload()
