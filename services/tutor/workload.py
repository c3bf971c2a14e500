"""Tutor's router-evaluation workload: GSM8K word problems, program-aided.

Items come from the end of the shipped train file (problems 801 to 1000), so the first 200,
which the tutor's own GSM8K evaluation reports on, never tune the router. One attempt per item:
one candidate program on the pinned core; `verified` is the tutor's checker (the program ran,
SymPy agrees, the candidates vote), `passed` the gold answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.evals.gsm8k import load_gsm8k
from twincore.platform.evals.workloads import Answerer, ItemResult, WorkItem
from twincore.platform.router.escalation import Ladder
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.tutor.evals import SHIPPED_GSM8K
from twincore.services.tutor.service import HINTS, SERVICE
from twincore.services.tutor.word.cascade import solve_checked

FIRST_ROUTER_PROBLEM = 800
SINGLE = Ladder(("first",), max_attempts=1)


class TutorWorkload:
    service = SERVICE

    def items(self, limit: int | None = None) -> list[WorkItem]:
        problems = load_gsm8k(SHIPPED_GSM8K)[FIRST_ROUTER_PROBLEM:]
        return [
            WorkItem(f"tutor/gsm8k-{p.line:04d}", SERVICE, p.question, {"gold": p.gold}, HINTS)
            for p in problems[:limit]
        ]

    @asynccontextmanager
    async def open(self, router: RouterClient, settings: Settings) -> AsyncIterator[Answerer]:
        model = TwincoreChatModel.for_service(router, SERVICE, HINTS)

        async def answer(item: WorkItem, core: str) -> ItemResult:
            checked = await solve_checked(item.text, model, SINGLE, requested=core, candidates=1)
            solution, escalation = checked.solution, checked.escalation
            return ItemResult(
                solution.answer == item.payload["gold"],
                escalation.verdict.passed,
                solution.answer or "",
                0,
                escalation.tokens,
            )

        yield answer


WORKLOAD = TutorWorkload()
