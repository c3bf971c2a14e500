"""Mentions on the loaded Northwind graph: every kind of entity a user names is found, the
longest match wins an overlap, and every reference query of the shipped dev set binds every
entity its question names (the checker would accept the references)."""

from __future__ import annotations

from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.services.support.cypher.verify import unbound
from twincore.services.support.eval.scoring import load_questions
from twincore.services.support.intents.mentions import MentionFinder
from twincore.services.support.knowledge.northwind import DATA_DIR, LoadReport


def _named(finder: MentionFinder, question: str) -> set[tuple[str, str]]:
    return {(m.kind, m.value) for m in finder.find(question)}


def test_entities_of_every_kind_are_found(northwind: tuple[FalkorDBStore, LoadReport]) -> None:
    finder = MentionFinder(northwind[0])
    assert _named(finder, "Which products does supplier Exotic Liquids supply?") == {
        ("supplier", "Exotic Liquids")
    }
    assert _named(finder, "Which customers in Germany ordered Chai?") == {
        ("country", "Germany"),
        ("product", "Chai"),
    }
    assert _named(finder, "Orders Nancy Davolio sold that went with Speedy Express") == {
        ("employee", "Nancy Davolio"),
        ("shipper", "Speedy Express"),
    }
    # The supplier's name holds a city's ("New Orleans"): the longer match wins.
    assert _named(finder, "What does New Orleans Cajun Delights supply?") == {
        ("supplier", "New Orleans Cajun Delights")
    }
    # Ids, and a small misspelling of a long name.
    assert _named(finder, "the last order of ALFKI") == {("customer", "Alfreds Futterkiste")}
    assert _named(finder, "status of order 10248") == {("order", "10248")}
    assert _named(finder, "What do Exotic Liquds sell?") == {("supplier", "Exotic Liquids")}
    # Short names match whole words only: neither "chain" nor "product" names anything.
    assert _named(finder, "Which product categories are in the supply chain?") == set()


def test_every_dev_reference_binds_the_entities_of_its_question(
    northwind: tuple[FalkorDBStore, LoadReport],
) -> None:
    finder = MentionFinder(northwind[0])
    questions = load_questions(DATA_DIR / "text2cypher_dev.csv")
    named = [(q, finder.find(q.question)) for q in questions]
    assert sum(1 for _, found in named if found) >= 60  # the set names entities often
    missed = [(q.question, unbound(found, q.cypher)) for q, found in named]
    assert [m for m in missed if m[1]] == []
