"""Text-to-Cypher through the router's escalation ladder, judged by the support checker.

Each rung asks the core for a query decoded under the schema's grammar (`cypher/grammar.py`:
only the schema's labels, relationship types in their direction, properties, read-only
clauses, linked names as literals), so an invented label or a write clause cannot come back.
The prompt carries the schema and the examples closest to the question (hand-written and dev
questions, never the question itself; `prompts.write_messages`). The `first` rung writes
several candidates (the policy's number, at least `MIN_CANDIDATES`: the first greedy, the
others sampled) and keeps the one execution prefers (`cypher/choice.py`); a `repair` rung
appends the previous reply and the checker's reasons (`repair_messages`); an `other` rung asks
the other core afresh. Each reply's relationship directions are fixed against the schema, then
`verify` judges it (parse, schema, every named entity bound, the question's shape, rows). An
accepted query's rows become the answer, which says what it rests on; when no rung is accepted
the answer is a refusal (the service opens a ticket), never the rows of a rejected query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from twincore.model_core.engine.constraint import Constraint
from twincore.platform.chat_model import from_chat_messages
from twincore.platform.graph.store import GraphSchema, GraphStore
from twincore.platform.router.escalation import (
    MAX_CANDIDATES,
    Escalation,
    Ladder,
    Rung,
    Tried,
    Verdict,
    escalate,
    repair_messages,
)
from twincore.platform.router.types import AUTO
from twincore.services.support.answer import Answer
from twincore.services.support.cypher.choice import choose
from twincore.services.support.cypher.direction import correct_directions
from twincore.services.support.cypher.fewshot import Example, ExampleSelector, default_selector
from twincore.services.support.cypher.grammar import cypher_grammar, in_language, linked_literals
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
MIN_CANDIDATES = 2
"""Candidates on the first rung when the policy asks for fewer: one greedy, one sampled."""
SAMPLING_TEMPERATURE = 0.7
CUT_OFF = (
    "The query was cut off before it ended (the reply ran out of tokens); write a shorter "
    "query that returns only what the question asks."
)
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


@dataclass(frozen=True)
class Candidate:
    """One reply as the checker judged it, with what it cost."""

    text: str
    checked: Checked
    core: str
    prompt_tokens: int
    completion_tokens: int
    decision: dict[str, Any] | None


class CypherAttempt:
    """The service's attempt function: one rung's candidates, grammar-constrained, judged by
    `verify`; the first rung keeps the candidate execution prefers."""

    def __init__(
        self,
        question: Question,
        model: BaseChatModel,
        *,
        max_tokens: int = MAX_TOKENS,
        examples: int = EXAMPLES,
        selector: ExampleSelector | None = None,
        candidates: int | None = None,
    ) -> None:
        self._question = question
        self._model = model
        self._max_tokens = max_tokens
        self._candidates = candidates
        schema = question.schema
        self.grammar = cypher_grammar(schema, linked_literals(question.mentions, schema))
        self._constraint = Constraint(
            "lark", self.grammar, strict=False
        )  # a guide: the checker judges
        self._plain_grammar = cypher_grammar(schema)  # without linked literals: for examples
        selector = selector or default_selector()
        chosen = selector.select(question.text, examples, accept=self._showable) if examples else []
        # Dev references may draw a relationship against its direction: show them the right way.
        shown = [Example(e.question, correct_directions(e.cypher, schema)) for e in chosen]
        self.examples = shown
        self._messages = write_messages(schema.as_text(), question.text, shown)

    def _cut_off(self, text: str) -> bool:
        """Did the token budget end a grammar-constrained reply before its query ended? (A
        reply the engine did not constrain is neither whole nor a start: the checker judges.)"""
        return in_language(self.grammar, text, prefix=True) and not in_language(self.grammar, text)

    def _showable(self, example: Example) -> bool:
        """An example the unrestricted grammar could produce (no EXISTS subquery, ...)."""
        fixed = correct_directions(example.cypher, self._question.schema)
        return in_language(self._plain_grammar, fixed)

    async def __call__(self, rung: Rung) -> Tried[Answer]:
        messages = self._messages + from_chat_messages(repair_messages(rung))
        first = await self._candidate(rung, messages, 0)
        done = [first]
        if rung.step in ("first", "more"):  # a `more` rung names its own number
            count = rung.candidates if rung.step == "more" else self._candidates or rung.candidates
            if count is None:
                count = max(MIN_CANDIDATES, int((first.decision or {}).get("candidates") or 1))
            done += await asyncio.gather(
                *(self._candidate(rung, messages, i) for i in range(1, count))
            )
        best = done[choose([c.checked for c in done])]
        return Tried(
            checked_answer(best.checked),
            best.checked.verdict,
            core=best.core,
            text=best.text,
            candidates=len(done),
            prompt_tokens=sum(c.prompt_tokens for c in done),
            completion_tokens=sum(c.completion_tokens for c in done),
            decision=first.decision,
        )

    async def _candidate(self, rung: Rung, messages: list[BaseMessage], index: int) -> Candidate:
        """Candidate `index`: greedy for the first rung's 0, else sampled with its own seed (a
        `more` rung's seeds differ from the first rung's, so it does not repeat them)."""
        q = self._question
        options: dict[str, Any] = {"model": rung.model, "max_tokens": self._max_tokens}
        if index or rung.step == "more":
            seed = index + (MAX_CANDIDATES if rung.step == "more" else 0)
            options.update(temperature=SAMPLING_TEMPERATURE, top_p=0.95, seed=seed)
        reply = await self._model.bind(**options).ainvoke(messages, constraint=self._constraint)
        meta: dict[str, Any] = getattr(reply, "response_metadata", None) or {}
        usage = getattr(reply, "usage_metadata", None) or {}
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        # The grammar makes the reply the bare query; a core that ignores the constraint may
        # still fence it or talk first, so the query is cut out all the same.
        cypher = correct_directions(extract_cypher(text), q.schema)
        if self._cut_off(text):
            checked = Checked(cypher, Verdict(False, (CUT_OFF,)))
        else:
            # The store is synchronous: keep the event loop free while the query runs.
            checked = await asyncio.to_thread(
                verify,
                cypher,
                schema=q.schema,
                store=q.store,
                mentions=q.mentions,
                question=q.text,
            )
        return Candidate(
            text,
            checked,
            str(meta.get("core") or rung.model),
            int(usage.get("input_tokens", 0)),
            int(usage.get("output_tokens", 0)),
            meta.get("decision"),
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
    candidates: int | None = None,
) -> Escalation[Answer]:
    """Climb `ladder` until the checker accepts a query; `requested` is the core the user asked
    for (`auto`, or a core's name that pins every rung); `candidates` on the first rung (None:
    the policy's, at least `MIN_CANDIDATES`)."""
    attempt = CypherAttempt(
        question,
        model,
        max_tokens=max_tokens,
        examples=examples,
        selector=selector,
        candidates=candidates,
    )
    return await escalate(attempt, ladder, model=requested)


def answer_by_cascade_sync(
    question: Question, model: BaseChatModel, ladder: Ladder, **options: Any
) -> Escalation[Answer]:
    """`answer_by_cascade` for synchronous callers (the service's worker thread, the eval)."""
    return asyncio.run(answer_by_cascade(question, model, ladder, **options))
