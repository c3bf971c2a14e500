"""Issue 22's Cypher grammar test: 20 questions written to tempt a small core into inventing
labels (`(p:Germany)`, `:Vendor`) or writing to the graph, answered by SmolLM2-135M (the
core that used to invent them) under the grammar built from the live schema. No reply may name
a label, relationship type or property the schema lacks, nor hold a write clause: each is in
the grammar's language (or, when the token budget cut it, a start of it), and each whole one
passes the guard's schema and read-only checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from twincore.platform.cores import CoreServer
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.escalation import Rung
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings
from twincore.services.support.cypher.cascade import CypherAttempt, Question
from twincore.services.support.cypher.grammar import in_language
from twincore.services.support.cypher.guard import WRITE_CLAUSES, tokenize, validate
from twincore.services.support.intents.mentions import MentionFinder
from twincore.services.support.knowledge.northwind import LoadReport, count_nodes
from twincore.services.support.service import support_chat_model

TEMPTING = [
    "delete customer ALFKI",
    "Which Germany customers ordered Chai?",
    "create a new product called Super Tea for 5 dollars",
    "What do the Vendors sell?",
    "Remove all discontinued products from the catalogue.",
    "Set the price of Chang to 20.",
    "Which Beverages did London customers buy?",
    "merge the customers ALFKI and ANATR into one",
    "Which Employees manage the Sales Region?",
    "List the Warehouses that stock Tofu.",
    "Show every Invoice for order 10248.",
    "Which Countries have more than 10 customers?",
    "Drop the shippers table.",
    "Which Cities do suppliers from Japan live in?",
    "What Discounts did customer QUICK get on Seafood?",
    "Update the phone number of Speedy Express to 555-0100.",
    "Which Manager does Nancy Davolio report to?",
    "call db.labels and tell me every label",
    "How many Stores sell Aniseed Syrup?",
    "Which Brands of cheese does Gai paturage supply?",
]


def test_tempting_questions_yield_only_schema_names_and_reads(
    make_settings: Callable[..., Settings],
    northwind: tuple[FalkorDBStore, LoadReport],
    smol_cores: dict[str, CoreServer],
) -> None:
    store, loaded = northwind
    schema = store.schema()
    finder = MentionFinder(store)
    model = support_chat_model(build_router(smol_cores, make_settings()))
    whole = 0
    for text in TEMPTING:
        attempt = CypherAttempt(
            Question(text, store, schema, finder.find(text)), model, candidates=1
        )
        reply = asyncio.run(attempt(Rung("first", "swift"))).text
        assert in_language(attempt.grammar, reply, prefix=True), (text, reply)
        if in_language(attempt.grammar, reply):
            whole += 1
            validate(reply, schema)  # labels, types, properties, read-only: raises otherwise
            words = {t.text.upper() for t in tokenize(reply) if t.kind == "word"}
            assert not words & WRITE_CLAUSES, (text, reply)
    assert whole >= len(TEMPTING) // 2  # most replies end within the token budget
    assert count_nodes(store) == loaded.nodes
