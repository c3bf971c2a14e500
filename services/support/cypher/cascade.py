"""Text-to-Cypher through the router's escalation ladder, judged by the support checker.

Each rung is one model call: the prompt carries the schema and the shipped examples closest to
the question (`prompts.write_messages`); a `repair` rung appends the previous reply and the
checker's reasons (`repair_messages`); an `other` rung asks the other core afresh. The reply's
query has its relationship directions fixed against the schema, then `verify` judges it (parse,
schema, every named entity bound, the question's shape, rows). An accepted query's rows become
the answer, which says what it rests on; when no rung is accepted the answer is a refusal (the
service opens a ticket), never the rows of a query the checker rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from twincore.platform.chat_model import from_chat_messages
from twincore.platform.graph.store import GraphSchema, GraphStore
from twincore.platform.router.escalation import (
    Escalation,
    Ladder,
    Rung,
    Tried,
    escalate,
    repair_messages,
)
from twincore.platform.router.types import AUTO
from twincore.services.support.answer import Answer
from twincore.services.support.cypher.direction import correct_directions
from twincore.services.support.cypher.fewshot import ExampleSelector, default_selector
from twincore.services.support.cypher.text2cypher import (
    EXAMPLES,
    MAX_TOKENS,
    extract_cypher,
    rows_answer,
)
from twincore.services.support.cypher.verify import Checked, verify
from twincore.services.support.intents.mentions import Mention
from twincore.services.support.prompts import write_messages

INTENT = "text2cypher"
REFUSAL = (
    "I could not answer this reliably from the graph, so a ticket was opened and a person "
    "will follow up. The last query was rejected: {reasons}"
)


@dataclass(frozen=True)
class Question:
    """A question with what the checker needs to judge a query for it."""

    text: str
    store: GraphStore
    schema: GraphSchema
    mentions: Sequence[Mention] = ()


def rests_on(cypher: str, rows: int) -> str:
    """The sentence that says what an answer rests on."""
    noun = "row" if rows == 1 else "rows"
    return f"This answer rests on {rows} {noun} returned by the graph query: {cypher}"


def checked_answer(checked: Checked) -> Answer:
    """The answer a checked query gives: its rows when accepted, else a refusal with reasons."""
    if not checked.verdict.passed:
        reasons = " ".join(checked.verdict.reasons)
        return Answer(REFUSAL.format(reasons=reasons), INTENT, False, checked.cypher, error=reasons)
    text, cites = rows_answer(checked.rows)
    text += "\n" + rests_on(checked.cypher, len(checked.rows))
    return Answer(text, INTENT, True, checked.cypher, {}, checked.rows, cites)


class CypherAttempt:
    """The service's attempt function: one model call per rung, judged by `verify`."""

    def __init__(
        self,
        question: Question,
        model: BaseChatModel,
        *,
        max_tokens: int = MAX_TOKENS,
        examples: int = EXAMPLES,
        selector: ExampleSelector | None = None,
    ) -> None:
        self._question = question
        self._model = model
        self._max_tokens = max_tokens
        selector = selector or default_selector()
        chosen = selector.select(question.text, examples) if examples else []
        self._messages = write_messages(question.schema.as_text(), question.text, chosen)

    async def __call__(self, rung: Rung) -> Tried[Answer]:
        q = self._question
        messages = self._messages + from_chat_messages(repair_messages(rung))
        bound = self._model.bind(model=rung.model, max_tokens=self._max_tokens)
        reply = await bound.ainvoke(messages)
        meta: dict[str, Any] = getattr(reply, "response_metadata", None) or {}
        usage = getattr(reply, "usage_metadata", None) or {}
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        cypher = correct_directions(extract_cypher(text), q.schema)
        # The store is synchronous: keep the event loop free while the query runs.
        checked = await asyncio.to_thread(
            verify, cypher, schema=q.schema, store=q.store, mentions=q.mentions, question=q.text
        )
        return Tried(
            checked_answer(checked),
            checked.verdict,
            core=str(meta.get("core") or rung.model),
            text=text,
            prompt_tokens=int(usage.get("input_tokens", 0)),
            completion_tokens=int(usage.get("output_tokens", 0)),
            decision=meta.get("decision"),
        )


async def answer_by_cascade(
    question: Question,
    model: BaseChatModel,
    ladder: Ladder,
    *,
    requested: str = AUTO,
    max_tokens: int = MAX_TOKENS,
    examples: int = EXAMPLES,
    selector: ExampleSelector | None = None,
) -> Escalation[Answer]:
    """Climb `ladder` until the checker accepts a query; `requested` is the core the user asked
    for (`auto`, or a core's name that pins every rung)."""
    attempt = CypherAttempt(
        question, model, max_tokens=max_tokens, examples=examples, selector=selector
    )
    return await escalate(attempt, ladder, model=requested)


def answer_by_cascade_sync(
    question: Question, model: BaseChatModel, ladder: Ladder, **options: Any
) -> Escalation[Answer]:
    """`answer_by_cascade` for synchronous callers (the service's worker thread, the eval)."""
    return asyncio.run(answer_by_cascade(question, model, ladder, **options))
