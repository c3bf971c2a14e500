"""`eval support` on the loaded Northwind graph: references scored, cores asked, graph intact."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from twincore.platform.cores import CoreServer
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.services.support.cypher.guard import validate
from twincore.services.support.eval.scoring import Question, evaluate
from twincore.services.support.knowledge.northwind import LoadReport, count_nodes
from twincore.services.support.service import support_chat_model

QUESTIONS = [
    Question(
        0,
        "How many customers are in Germany?",
        "MATCH (c:Customer) WHERE c.country = 'Germany' RETURN count(c)",
        "Simple Aggregation",
    ),
    Question(
        1,
        "Which products does Exotic Liquids supply?",
        "MATCH (s:Supplier {companyName: 'Exotic Liquids'})-[:SUPPLIES]->(p:Product) "
        "RETURN p.productName",
        "Simple Retrieval",
    ),
    Question(2, "List all orders.", "MATCH (o:Order) RETURN o.orderID", "Simple Retrieval"),
    # Not executable here: a Neo4j 5 subquery, and a reference with no rows.
    Question(
        3,
        "Which products were never ordered?",
        "MATCH (p:Product) WHERE NOT exists { (p)<-[:ORDERS]-(:Order) } RETURN p",
        "Subquery",
    ),
    Question(
        4,
        "Which products cost a million?",
        "MATCH (p:Product) WHERE p.unitPrice = 1000000 RETURN p",
        "Simple Retrieval",
    ),
]


def test_references_are_classified_and_right_answers_score(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    store, _ = northwind
    # A stand-in core that answers with the reference queries in other words (other column
    # names, reversed direction, no LIMIT): the harness must count each as correct.
    # Each reply twice: the first rung writes two candidates (cypher/cascade.py).
    replies = [
        reply
        for reply in (
            "MATCH (c:Customer {country: 'Germany'}) RETURN count(*) AS n",
            "MATCH (p:Product)<-[:SUPPLIES]-(s:Supplier) "
            "WHERE s.companyName = 'Exotic Liquids' RETURN p.productName AS name",
            "```cypher\nMATCH (o:Order) RETURN o.orderID AS id\n```",  # a fence still reads
        )
        for _ in range(2)
    ]
    report = evaluate(QUESTIONS, store, {"stand-in": FakeListChatModel(responses=replies)})
    assert report["executable_questions"] == 3 and report["reference_errors"] == 1
    assert report["reference_empty"] == 1
    assert report["execution_accuracy"] == 1.0 and report["valid_query_rate"] == 1.0
    rows = report["per_question"]["stand-in"]
    # 830 orders, cut to the guard's 100: contained in the reference, so correct.
    assert rows[2]["rows"] == 100 and rows[2]["reference_rows"] == 830 and rows[2]["correct"]


def test_swift_core_is_scored_through_the_guarded_loop(
    northwind: tuple[FalkorDBStore, LoadReport], smol_cores: dict[str, CoreServer]
) -> None:
    store, report_before = northwind
    schema = store.schema()
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    model = support_chat_model(router, model="swift")
    # One attempt each keeps the test short; retries are covered by test_text2cypher.
    report = evaluate(QUESTIONS[:3], store, {"swift": model}, max_attempts=1, max_tokens=80)
    data = report["per_core"]["swift"]
    assert data["questions"] == 3 and 0.0 <= data["execution_accuracy"] <= 1.0
    for row in report["per_question"]["swift"]:
        assert row["attempts"] == 1
        if row["valid"]:
            validate(row["cypher"], schema)  # what ran had passed the guard
        else:
            assert row["error"] and not row["correct"]
    assert count_nodes(store) == report_before.nodes  # nothing the core wrote changed the graph
