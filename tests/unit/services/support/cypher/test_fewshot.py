"""The few-shot examples: hand-written ones apart from the dev questions, both pools chosen by
shared words, never the asked question itself."""

from __future__ import annotations

import csv
import difflib

from twincore.services.support.cypher.fewshot import (
    DEV_FILE,
    ExampleSelector,
    default_selector,
    load_examples,
    near_duplicate,
)
from twincore.services.support.knowledge.northwind import DATA_DIR


def test_shipped_examples_are_not_copies_of_dev_questions() -> None:
    examples = load_examples()
    assert len(examples) >= 20
    with (DATA_DIR / "text2cypher_dev.csv").open(newline="", encoding="utf-8") as fh:
        dev = list(csv.DictReader(fh))
    dev_cypher = {" ".join(r["cypher"].split()) for r in dev}
    for ex in examples:
        assert " ".join(ex.cypher.split()) not in dev_cypher
        closest = max(
            difflib.SequenceMatcher(None, ex.question.lower(), r["question"].lower()).ratio()
            for r in dev
        )
        assert closest < 0.9, ex.question


def test_the_selector_prefers_examples_that_share_words() -> None:
    selector = ExampleSelector(load_examples())
    chosen = selector.select("Who does Nancy Davolio report to?", 2)
    assert len(chosen) == 2
    assert "report" in chosen[-1].question  # the closest comes last, next to the question
    supplied = selector.select("Which products are supplied by Pavlova, Ltd.?", 3)
    assert any("suppl" in e.question.lower() for e in supplied)


def test_dev_questions_are_examples_but_never_for_themselves() -> None:
    selector = default_selector()
    dev = load_examples(DEV_FILE)
    assert len(selector.examples) == len(load_examples()) + len(dev)
    question = dev[0].question  # "What are the top 3 most common ship countries for orders?"
    for asked in (question, question.upper(), question.rstrip("?") + " ?", "  " + question):
        chosen = selector.select(asked, 5)
        assert len(chosen) == 5
        assert not any(near_duplicate(e.question, question) for e in chosen)
    # Dev questions do serve other questions: a reworded one finds its sibling.
    chosen = selector.select("Which 3 ship countries have the most orders?", 3)
    assert any(e in dev for e in chosen)


def test_near_duplicates_are_judged_on_normalised_text() -> None:
    assert near_duplicate("List all shippers.", "list all shippers")
    assert near_duplicate("Which products does Exotic Liquids supply?",
                          "Which products does Exotic Liquid supply?")  # fmt: skip
    assert not near_duplicate("List all shippers.", "List all suppliers in Germany.")


def test_accept_skips_examples_a_caller_cannot_use() -> None:
    selector = default_selector()
    chosen = selector.select("Which products are never ordered?", 4,
                             accept=lambda e: "exists" not in e.cypher.lower())  # fmt: skip
    assert len(chosen) == 4
    assert all("exists" not in e.cypher.lower() for e in chosen)
