"""Scoring of `eval support`: text-to-Cypher execution accuracy on Northwind questions with
reference Cypher.

For every question the reference query runs on the graph as written (read-only, the store's
timeout); it is *executable* when it runs and returns rows. For executable questions each core
writes its query through the service's own path (`ask_core`: schema + examples in the prompt,
direction fix, guard, LIMIT, timeout, bounded retries with the error), and the rows are compared
with the reference's by the rules in `eval/compare.py`.
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
from twincore.services.support.cypher.guard import CypherRejectedError, validate
from twincore.services.support.cypher.text2cypher import MAX_ATTEMPTS, MAX_TOKENS, ask_core
from twincore.services.support.eval.compare import is_ordered, same_entities, same_result

RULES = (
    "rows compared as multisets of values (column names and order ignored; numbers rounded "
    "to 4 decimals; nodes by their properties); row order must match only when the reference "
    "has ORDER BY; a generated result cut by the guard's LIMIT must be contained in the "
    "reference's (a prefix when ordered)"
)
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
    max_attempts: int = MAX_ATTEMPTS,
    max_tokens: int = MAX_TOKENS,
) -> dict[str, Any]:
    """Ask one core one question; the outcome as a report row."""
    start = time.perf_counter()
    result = ask_core(
        question.question, model, store, schema, max_attempts=max_attempts, max_tokens=max_tokens
    )
    last = result.attempts[-1] if result.attempts else None
    valid = last is not None and last.error is None
    correct = entities = False
    if valid and last is not None:
        ordered, limit = is_ordered(question.cypher), _guard_limit(last.cypher, schema)
        correct = same_result(reference.rows, result.answer.rows, ordered=ordered, limit=limit)
        entities = same_entities(reference.rows, result.answer.rows, ordered=ordered, limit=limit)
    return {
        "index": question.index,
        "type": question.type,
        "question": question.question,
        "valid": valid,
        "correct": correct,
        "entities_correct": entities,
        "attempts": len(result.attempts),
        "rows": len(result.answer.rows),
        "reference_rows": len(reference.rows),
        "cypher": last.cypher if last else None,
        "error": None if valid or last is None else last.error,
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
        "seconds_per_question": round(sum(r["seconds"] for r in rows) / n, 2) if n else 0.0,
        "per_type": dict(sorted(per_type.items())),
    }


def evaluate(
    questions: Sequence[Question],
    store: GraphStore,
    models: Mapping[str, BaseChatModel],
    *,
    limit: int | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    max_tokens: int = MAX_TOKENS,
    on_total: Callable[[int], None] | None = None,
    on_row: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The report: reference executability, then every core on the executable questions
    (the first `limit` of them when given); `on_row(core, row)` sees each row as it is scored."""
    schema = store.schema()
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
                max_attempts=max_attempts,
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
        "max_attempts": max_attempts,
        "not_executable": {"errors": failed, "empty": empty},
        "per_question": {name: data["per_question"] for name, data in per_core.items()},
    }
