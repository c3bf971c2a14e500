"""Execution-guided choice on the first rung, over the embedded Northwind graph: candidate
texts (a fake core's) run through the checker and the graph, and the one that runs, binds the
question's entities and returns rows is kept; accepted ones vote by their result."""

from __future__ import annotations

import asyncio

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.escalation import Rung
from twincore.services.support.cypher.cascade import (
    CUT_OFF,
    MIN_CANDIDATES,
    CypherAttempt,
    Question,
)
from twincore.services.support.cypher.fewshot import near_duplicate
from twincore.services.support.intents.mentions import MentionFinder
from twincore.services.support.knowledge.northwind import LoadReport

EXOTIC = "Which products does supplier Exotic Liquids supply?"
RIGHT = (
    "MATCH (s:Supplier {companyName: 'Exotic Liquids'})-[:SUPPLIES]->(p:Product) "
    "RETURN p.productName"
)


def _attempt(
    store: FalkorDBStore, question: str, replies: list[str], candidates: int | None
) -> CypherAttempt:
    asked = Question(question, store, store.schema(), MentionFinder(store).find(question))
    return CypherAttempt(asked, FakeListChatModel(responses=replies), candidates=candidates)


def test_the_candidate_that_binds_and_returns_rows_is_kept(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    store, _ = northwind
    replies = [
        "MATCH (p:Product) RETURN p.productName",  # greedy, but ignores the supplier
        "MATCH (s:Supplier {companyName: 'Exotic Liquid'})-[:SUPPLIES]->(p) RETURN p",  # no rows
        RIGHT,
    ]
    tried = asyncio.run(_attempt(store, EXOTIC, replies, 3)(Rung("first", "swift")))
    assert tried.verdict.passed and tried.candidates == 3
    assert tried.text == RIGHT
    assert {r["p.productName"] for r in tried.answer.rows} == {"Chai", "Chang", "Aniseed Syrup"}


def test_accepted_candidates_vote_by_their_rows(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    store, _ = northwind
    replies = [
        RIGHT.replace("RETURN p.productName", "RETURN p.productName LIMIT 1"),
        RIGHT.replace("p.productName", "p.productName AS name"),
        RIGHT.replace("-[:SUPPLIES]->(p:Product)", "<-[:SUPPLIES]-(p:Product)"),  # fixed, same
    ]
    tried = asyncio.run(_attempt(store, EXOTIC, replies, 3)(Rung("first", "swift")))
    assert tried.verdict.passed
    assert tried.text == replies[1]  # two of three return Chai, Chang, Aniseed Syrup
    assert len(tried.answer.rows) == 3


def test_the_first_rung_writes_at_least_two_a_repair_one_and_more_its_number(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    store, _ = northwind
    attempt = _attempt(store, EXOTIC, ["MATCH (p:Product) RETURN p.productName", RIGHT], None)
    first = asyncio.run(attempt(Rung("first", "swift")))
    assert first.candidates == MIN_CANDIDATES and first.verdict.passed
    repair = asyncio.run(attempt(Rung("repair", "swift", None, ("x",), "MATCH (n) RETURN n")))
    assert repair.candidates == 1
    more = asyncio.run(attempt(Rung("more", "swift", 3)))
    assert more.candidates == 3


def test_a_dev_question_is_not_shown_its_own_reference(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    store, _ = northwind
    question = "What are the top 3 most common ship countries for orders?"  # dev row 0
    attempt = _attempt(store, question, [RIGHT], 1)
    assert attempt.examples
    assert not any(near_duplicate(e.question, question) for e in attempt.examples)
    assert all("EXISTS" not in e.cypher.upper() for e in attempt.examples)


def test_a_reply_cut_off_by_its_budget_is_refused_without_running(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    store, _ = northwind
    cut = "MATCH (s:Supplier {companyName: 'Exotic Liquids'})-[:SUPPLIES]->(p:Product) RETURN p."
    tried = asyncio.run(_attempt(store, EXOTIC, [cut], 1)(Rung("first", "swift")))
    assert not tried.verdict.passed and tried.verdict.reasons == (CUT_OFF,)
    assert not tried.answer.rows
