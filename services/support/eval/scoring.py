"""Scoring of `eval support`: text-to-Cypher execution accuracy on Northwind questions with
reference Cypher.

For every question the reference query runs on the graph as written (read-only, the store's
timeout); it is *executable* when it runs and returns rows. For executable questions each core
writes its query through the service's own cascade (`cypher/cascade.py`: schema + examples in
the prompt, direction fix, the checker of `cypher/verify.py` -- guard, schema, every named entity
bound, rows -- and the policy's ladder: a repair turn with the checker's reasons, then the other
core when the core is `auto`). Only an answer the checker accepted counts (the service refuses
the others); its rows are compared with the reference's by the rules in `eval/compare.py`.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from twincore.platform.graph.store import GraphError, GraphSchema, GraphStore, Row
from twincore.platform.router.escalation import Ladder
from twincore.platform.router.types import AUTO
from twincore.services.support.cypher.cascade import Question as Asked
from twincore.services.support.cypher.cascade import answer_by_cascade_sync
from twincore.services.support.cypher.guard import CypherRejectedError, validate
from twincore.services.support.cypher.text2cypher import MAX_TOKENS
from twincore.services.support.eval.compare import is_ordered, same_entities, same_result
from twincore.services.support.intents.mentions import Mention, MentionFinder

RULES = (
    "rows compared as multisets of values (column names and order ignored; numbers rounded "
    "to 4 decimals; nodes by their properties); row order must match only when the reference "
    "has ORDER BY; a generated result cut by the guard's LIMIT must be contained in the "
    "reference's (a prefix when ordered)"
)
PINNED = ("swift", "deep")
_AGGREGATE = re.compile(r"\b(count|sum|avg|min|max|collect)\s*\(", re.IGNORECASE)
_HOP = re.compile(r"\]\s*-|-\s*\[")


@dataclass(frozen=True)
class Question:
    """One CSV row: the question, its reference Cypher and its type."""

    index: int
    question: str
    cypher: str
    type: str


@dataclass
class Reference:
    """What the reference query gave on the graph."""

    rows: list[Row] = field(default_factory=list)
    error: str | None = None

    @property
    def executable(self) -> bool:
        return self.error is None and bool(self.rows)


def heuristic_type(cypher: str) -> str:
    """A type for CSVs without a `type` column: aggregation / multi-hop / retrieval."""
    hops = len(_HOP.findall(cypher)) // 2
    kind = "Aggregation" if _AGGREGATE.search(cypher) else "Retrieval"
    return f"{'Multi-hop' if hops >= 2 else 'Simple'} {kind} Queries"


def load_questions(path: Path) -> list[Question]:
    """Rows with `question` and `cypher` columns; `type` is used when present."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or ())
        if not {"question", "cypher"} <= columns:
            have = sorted(columns)
            raise ValueError(f"{path}: needs 'question' and 'cypher' columns, has {have}")
        out = []
        for i, row in enumerate(reader):
            if not row["question"].strip() or not row["cypher"].strip():
                raise ValueError(f"{path}: row {i + 2} has an empty question or cypher")
            kind = (row.get("type") or "").strip() or heuristic_type(row["cypher"])
            out.append(Question(i, row["question"].strip(), row["cypher"].strip(), kind))
    if not out:
        raise ValueError(f"{path}: no questions")
    return out


def run_reference(store: GraphStore, question: Question) -> Reference:
    try:
        return Reference(store.query(question.cypher))
    except GraphError as exc:
        return Reference(error=str(exc)[:300])


def _guard_limit(cypher: str, schema: GraphSchema) -> int | None:
    try:
        return validate(cypher, schema).limit
    except CypherRejectedError:
        return None


def score_core(
    model: BaseChatModel,
    store: GraphStore,
    schema: GraphSchema,
    question: Question,
    reference: Reference,
    *,
    ladder: Ladder | None = None,
    requested: str = AUTO,
    mentions: Sequence[Mention] = (),
    max_tokens: int = MAX_TOKENS,
) -> dict[str, Any]:
    """Ask one core (or `auto`: the cascade over both) one question; the outcome as a row."""
    start = time.perf_counter()
    escalation = answer_by_cascade_sync(
        Asked(question.question, store, schema, mentions),
        model,
        ladder or Ladder(),
        requested=requested,
        max_tokens=max_tokens,
    )
    answer = escalation.answer
    valid = escalation.verdict.passed and answer.cypher is not None
    correct = entities = False
    if valid and answer.cypher is not None:
        ordered, limit = is_ordered(question.cypher), _guard_limit(answer.cypher, schema)
        correct = same_result(reference.rows, answer.rows, ordered=ordered, limit=limit)
        entities = same_entities(reference.rows, answer.rows, ordered=ordered, limit=limit)
    return {
        "index": question.index,
        "type": question.type,
        "question": question.question,
        "valid": valid,
        "correct": correct,
        "entities_correct": entities,
        "attempts": len(escalation.attempts),
        "escalated": escalation.escalated,
        "core": escalation.core,
        "steps": [f"{a.step}:{a.core}:{a.verdict}" for a in escalation.attempts],
        "tokens": escalation.tokens,
        "rows": len(answer.rows),
        "reference_rows": len(reference.rows),
        "cypher": answer.cypher,
        "error": None if valid else "; ".join(escalation.verdict.reasons),
        "seconds": round(time.perf_counter() - start, 2),
    }


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Execution accuracy, valid-query rate and accuracy per type over one core's rows."""
    n = len(rows)
    per_type: dict[str, dict[str, Any]] = {}
    for row in rows:
        t = per_type.setdefault(row["type"], {"questions": 0, "correct": 0})
        t["questions"] += 1
        t["correct"] += int(row["correct"])
    for t in per_type.values():
        t["accuracy"] = round(t["correct"] / t["questions"], 4)
    return {
        "questions": n,
        "correct": sum(int(r["correct"]) for r in rows),
        "execution_accuracy": round(sum(int(r["correct"]) for r in rows) / n, 4) if n else 0.0,
        "valid_query_rate": round(sum(int(r["valid"]) for r in rows) / n, 4) if n else 0.0,
        # The looser score (properties may stand for returned nodes), see eval/compare.py.
        "entity_accuracy": (
            round(sum(int(r.get("entities_correct", False)) for r in rows) / n, 4) if n else 0.0
        ),
        "mean_attempts": round(sum(r["attempts"] for r in rows) / n, 3) if n else 0.0,
        "escalation_rate": (
            round(sum(int(r.get("escalated", False)) for r in rows) / n, 4) if n else 0.0
        ),
        "seconds_per_question": round(sum(r["seconds"] for r in rows) / n, 2) if n else 0.0,
        "per_type": dict(sorted(per_type.items())),
    }


def evaluate(
    questions: Sequence[Question],
    store: GraphStore,
    models: Mapping[str, BaseChatModel],
    *,
    limit: int | None = None,
    ladder: Ladder | None = None,
    max_attempts: int | None = None,
    max_tokens: int = MAX_TOKENS,
    on_total: Callable[[int], None] | None = None,
    on_row: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The report: reference executability, then every model on the executable questions
    (the first `limit` of them when given); `on_row(name, row)` sees each row as it is scored.

    A model named `swift` or `deep` is pinned to that core (first, then repair); any other name
    is asked as `auto` (the router picks; the ladder may climb to the other core).
    `max_attempts` overrides the ladder's."""
    schema = store.schema()
    ladder = ladder or Ladder()
    if max_attempts is not None:
        ladder = Ladder(ladder.steps, max_attempts, ladder.max_tokens)
    finder = MentionFinder(store)
    references = [run_reference(store, q) for q in questions]
    executable = [(q, r) for q, r in zip(questions, references, strict=True) if r.executable]
    asked = executable[:limit] if limit else executable
    if on_total:
        on_total(len(asked) * len(models))
    per_core: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        start = time.perf_counter()
        rows = []
        for question, reference in asked:
            row = score_core(
                model,
                store,
                schema,
                question,
                reference,
                ladder=ladder,
                requested=name if name in PINNED else AUTO,
                mentions=finder.find(question.question),
                max_tokens=max_tokens,
            )
            rows.append(row)
            if on_row:
                on_row(name, row)
        per_core[name] = {
            **summarise(rows),
            "wall_s": round(time.perf_counter() - start, 1),
            "per_question": rows,
        }
    failed = [
        {"index": q.index, "type": q.type, "error": r.error}
        for q, r in zip(questions, references, strict=True)
        if r.error is not None
    ]
    pairs = list(zip(questions, references, strict=True))
    empty = [q.index for q, r in pairs if r.error is None and not r.rows]
    first = next(iter(per_core.values()), summarise([]))
    return {
        "questions": len(questions),
        "executable_questions": len(executable),
        "asked_questions": len(asked),
        "reference_errors": len(failed),
        "reference_empty": len(empty),
        "core": next(iter(per_core), None),
        "execution_accuracy": first["execution_accuracy"],
        "valid_query_rate": first["valid_query_rate"],
        "entity_accuracy": first["entity_accuracy"],
        "per_type": first["per_type"],
        "per_core": {
            name: {k: v for k, v in data.items() if k != "per_question"}
            for name, data in per_core.items()
        },
        "comparison": RULES,
        "ladder": {"steps": list(ladder.steps), "max_attempts": ladder.max_attempts},
        "not_executable": {"errors": failed, "empty": empty},
        "per_question": {name: data["per_question"] for name, data in per_core.items()},
    }
