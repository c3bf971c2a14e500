"""Text-to-Cypher through the core: write a query, validate it, run it, retry on errors (bounded).

The prompt carries the schema and the shipped examples most similar to the question. Wrongly
directed relationships in the reply are flipped against the schema (LangChain's validator does
the same), then the guard judges the query, and label-aware checks catch properties read from
the wrong label and hops between labels no relationship joins. Any refusal or store error is
fed back to the core as the next turn; after `max_attempts` the question is refused cleanly.
The answer is built from the rows only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from twincore.platform.graph.store import GraphError, GraphSchema, GraphStore
from twincore.services.support.answer import Answer, Citation
from twincore.services.support.cypher.direction import correct_directions
from twincore.services.support.cypher.fewshot import ExampleSelector, default_selector
from twincore.services.support.cypher.guard import CypherRejectedError, validate
from twincore.services.support.cypher.schema_check import check_schema_use
from twincore.services.support.prompts import CYPHER_RETRY, write_messages

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_TOKENS = 120  # a Northwind query fits; longer replies are rambling
# Examples per prompt: each costs ~60 prompt tokens of prefill on every attempt.
EXAMPLES = 3
# Rows shown in the answer text; all rows stay on the Answer for the caller.
SHOWN_ROWS = 10
ID_KEYS = ("orderID", "customerID", "productID", "supplierID", "employeeID", "categoryID")

_FENCE = re.compile(r"```(?:cypher|sql)?\s*\n?(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE)
_START = re.compile(r"\b(MATCH|OPTIONAL\s+MATCH|WITH|UNWIND|RETURN)\b", re.IGNORECASE)


@dataclass
class Attempt:
    """One round of the loop: what the core wrote and why it was not used (None: it ran)."""

    cypher: str
    error: str | None


@dataclass
class Text2CypherResult:
    answer: Answer
    attempts: list[Attempt] = field(default_factory=list)
    core: str | None = None


def extract_cypher(text: str) -> str:
    """The query in the core's reply: a fenced block, else from the first clause keyword on."""
    m = _FENCE.search(text)
    body = m.group(1) if m else text
    start = _START.search(body)
    return (body[start.start() :] if start else body).strip().strip("`").strip()


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        shown = {k: v for k, v in value.items() if not k.startswith("_")}
        return ", ".join(f"{k}={v}" for k, v in list(shown.items())[:4])
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _citation(index: int, row: dict[str, Any]) -> Citation:
    """Cite the row by the id of a node it returns, or by an id column, else by its number."""
    for value in row.values():
        if isinstance(value, dict):
            labels = value.get("_labels") or ["Node"]
            for key in ID_KEYS:
                if key in value:
                    return Citation(index, str(labels[0]), str(value[key]))
    for col, value in row.items():
        for key in ID_KEYS:
            if col.lower().endswith(key.lower()):
                return Citation(index, key[: -len("ID")].capitalize(), str(value))
    return Citation(index, "Row", str(index))


def rows_answer(rows: list[dict[str, Any]]) -> tuple[str, list[Citation]]:
    """A plain rendering of the rows with `[n]` markers: nothing in it that is not in a row."""
    cites = [_citation(i + 1, r) for i, r in enumerate(rows)]
    lines = [
        "; ".join(f"{k}: {_cell(v)}" for k, v in r.items()) + f" [{c.index}]"
        for r, c in zip(rows[:SHOWN_ROWS], cites, strict=False)
    ]
    more = f"\n(and {len(rows) - SHOWN_ROWS} more rows)" if len(rows) > SHOWN_ROWS else ""
    noun = "result" if len(rows) == 1 else "results"
    return f"I found {len(rows)} {noun}:\n" + "\n".join(lines) + more, cites


def ask_core(
    question: str,
    model: BaseChatModel,
    store: GraphStore,
    schema: GraphSchema,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    max_tokens: int = MAX_TOKENS,
    examples: int = EXAMPLES,
    selector: ExampleSelector | None = None,
) -> Text2CypherResult:
    """Run the write → validate → execute loop; a clean refusal after `max_attempts`."""
    chosen = (selector or default_selector()).select(question, examples) if examples else []
    messages: list[BaseMessage] = write_messages(schema.as_text(), question, chosen)
    result = Text2CypherResult(Answer("", "text2cypher", False))
    bound = model.bind(max_tokens=max_tokens)
    for _ in range(max_attempts):
        reply = bound.invoke(messages)
        meta = getattr(reply, "response_metadata", {}) or {}
        result.core = str(meta.get("core")) if meta.get("core") else result.core
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        cypher = correct_directions(extract_cypher(text), schema)
        try:
            checked = validate(cypher, schema)
            check_schema_use(checked.cypher, schema)
            rows = store.query(checked.cypher)
        except (CypherRejectedError, GraphError) as exc:
            log.info("text2cypher attempt refused: %s", exc)
            result.attempts.append(Attempt(cypher, str(exc)))
            messages += [AIMessage(content=text), HumanMessage(CYPHER_RETRY.format(error=exc))]
            continue
        result.attempts.append(Attempt(checked.cypher, None))
        if not rows:
            result.answer = Answer(
                "I found nothing in the graph that answers this question.",
                "text2cypher",
                False,
                checked.cypher,
            )
            return result
        text_out, cites = rows_answer(rows)
        result.answer = Answer(text_out, "text2cypher", True, checked.cypher, {}, rows, cites)
        return result
    last = result.attempts[-1].error if result.attempts else "no attempt"
    result.answer = Answer(
        f"I could not turn this question into a valid graph query after {max_attempts} "
        f"attempts (last problem: {last}).",
        "text2cypher",
        False,
        result.attempts[-1].cypher if result.attempts else None,
        error=last,
    )
    return result
