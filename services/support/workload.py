"""Support's router-evaluation workload: the shipped text2cypher dev questions on Northwind.

An item is answered by one model call on the pinned core through the service's own attempt
(`cypher/cascade.py`: schema, examples, direction fix); `verified` is the service's checker
(`cypher/verify.py`: guard, schema, named entities bound, rows) and `passed` is execution match
with the reference query's rows, counted only for an answer the checker accepted, as the
service would only give that one. Only questions whose reference runs and returns rows are used.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from twincore.platform.evals.workloads import Answerer, ItemResult, WorkItem
from twincore.platform.router.escalation import Rung
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.support.cypher.cascade import CypherAttempt, Question
from twincore.services.support.eval.compare import is_ordered, same_result
from twincore.services.support.eval.scoring import load_questions, run_reference
from twincore.services.support.evals import temporary_northwind
from twincore.services.support.intents.mentions import MentionFinder
from twincore.services.support.service import HINTS, SERVICE, support_chat_model

DEV_QUESTIONS = "text2cypher_dev.csv"


@cache
def _executable() -> tuple[tuple[int, str, str], ...]:
    """(index, question, reference cypher) of the dev questions whose reference returns rows."""
    from twincore.services.support.cli import DEFAULT_QUESTIONS

    with temporary_northwind() as store:
        return tuple(
            (q.index, q.question, q.cypher)
            for q in load_questions(DEFAULT_QUESTIONS)
            if run_reference(store, q).executable
        )


class SupportWorkload:
    service = SERVICE

    def items(self, limit: int | None = None) -> list[WorkItem]:
        rows = _executable()[:limit]
        return [
            WorkItem(f"support/dev-{index:03d}", SERVICE, text, {"cypher": cypher}, HINTS)
            for index, text, cypher in rows
        ]

    @asynccontextmanager
    async def open(self, router: RouterClient, settings: Settings) -> AsyncIterator[Answerer]:
        with temporary_northwind() as store:
            schema = store.schema()
            finder = MentionFinder(store)
            model = support_chat_model(router)

            async def answer(item: WorkItem, core: str) -> ItemResult:
                question = Question(item.text, store, schema, finder.find(item.text))
                tried = await CypherAttempt(question, model)(Rung("first", core))
                reference = await asyncio.to_thread(store.query, item.payload["cypher"])
                cypher = tried.answer.cypher
                passed = bool(
                    tried.verdict.passed
                    and cypher is not None
                    and same_result(reference, tried.answer.rows, ordered=is_ordered(
                        item.payload["cypher"]))
                )  # fmt: skip
                return ItemResult(passed, tried.verdict.passed, tried.text,
                                  tried.prompt_tokens, tried.completion_tokens)  # fmt: skip

            yield answer


WORKLOAD = SupportWorkload()
