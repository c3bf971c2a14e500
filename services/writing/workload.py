"""Writing's router-evaluation workload: compose items over the 12 styles and shipped topics.

One attempt per item (one greedy candidate, no repair: the ladder is cut to `first`); the
style's constraint checkers are both the run-time verifier and the ground truth here, since
the constraints (form, syllables, rhyme, length, register) are what the user asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.evals.workloads import Answerer, ItemResult, WorkItem
from twincore.platform.router.escalation import Ladder
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.writing.classify.classifier import load_classifier
from twincore.services.writing.evaluation.items import MAX_TOKENS, PROSE_MAX_TOKENS, load_topics
from twincore.services.writing.generate.drafts import WritingTask
from twincore.services.writing.generate.run import SERVICE, WritingRun
from twincore.services.writing.registry import get_style, load_styles

SINGLE = Ladder(("first",), max_attempts=1)


class WritingWorkload:
    service = SERVICE

    def items(self, limit: int | None = None) -> list[WorkItem]:
        """Style by style, then topic by topic: the first 12 items cover every style once."""
        styles, topics = list(load_styles().values()), load_topics()
        items = [
            WorkItem(
                f"writing/{style.id}/{topic['id']}",
                SERVICE,
                topic[style.language],
                {"style": style.id},
                group=style.id,
            )
            for topic in topics
            for style in styles
        ]
        return items[:limit]

    @asynccontextmanager
    async def open(self, router: RouterClient, settings: Settings) -> AsyncIterator[Answerer]:
        models = {
            core: TwincoreChatModel.for_service(router, SERVICE, model=core)
            for core in ("swift", "deep")
        }
        classifier = load_classifier()

        async def answer(item: WorkItem, core: str) -> ItemResult:
            style = get_style(item.payload["style"])
            run = WritingRun(
                models[core],
                WritingTask(style, "compose", item.text),
                n=1,
                max_tokens=MAX_TOKENS.get(style.id, PROSE_MAX_TOKENS),
                classifier=classifier,
                ladder=SINGLE,
            )
            result = await run.run()
            attempts = (result.twincore or {}).get("attempts") or [{}]
            met = result.best.report.passed
            tokens = int(attempts[0].get("tokens") or 0)
            return ItemResult(met, met, result.best.text, 0, tokens)

        yield answer


WORKLOAD = WritingWorkload()
