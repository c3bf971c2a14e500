"""`eval support` pieces that need no graph: question loading, types, the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from twincore.services.support.eval.scoring import heuristic_type, load_questions, summarise
from twincore.services.support.knowledge.northwind import DATA_DIR


def test_the_dev_set_loads_with_its_types() -> None:
    questions = load_questions(DATA_DIR / "text2cypher_dev.csv")
    assert len(questions) == 300
    assert {q.type for q in questions} >= {"Simple Retrieval Queries", "Pathfinding Queries"}


def test_a_csv_without_types_gets_heuristic_ones(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "question,cypher\n"
        'How many?,"MATCH (o:Order) RETURN count(o)"\n'
        'Who?,"MATCH (c:Customer)-[:PURCHASED]->(o:Order)-[:ORDERS]->(p:Product) RETURN c"\n',
        encoding="utf-8",
    )
    kinds = [q.type for q in load_questions(path)]
    assert kinds == ["Simple Aggregation Queries", "Multi-hop Retrieval Queries"]
    assert heuristic_type("MATCH (p:Product) RETURN p") == "Simple Retrieval Queries"


def test_bad_question_files_are_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("text,query\na,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs 'question' and 'cypher'"):
        load_questions(path)
    path.write_text('question,cypher\nWhat?,""\n', encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        load_questions(path)


def test_summary_counts_accuracy_validity_and_types() -> None:
    rows = [
        {"type": "A", "correct": True, "valid": True, "attempts": 1, "seconds": 1.0},
        {"type": "A", "correct": False, "valid": True, "attempts": 2, "seconds": 1.0},
        {"type": "B", "correct": False, "valid": False, "attempts": 3, "seconds": 1.0},
        {"type": "B", "correct": True, "valid": True, "attempts": 1, "seconds": 1.0},
    ]
    s = summarise(rows)
    assert s["execution_accuracy"] == 0.5 and s["valid_query_rate"] == 0.75
    assert s["per_type"]["A"] == {"questions": 2, "correct": 1, "accuracy": 0.5}
    assert s["mean_attempts"] == 1.75
    assert summarise([])["execution_accuracy"] == 0.0
