"""The few-shot examples: shipped apart from the dev questions, chosen by shared words."""

from __future__ import annotations

import csv
import difflib

from twincore.services.support.cypher.fewshot import ExampleSelector, load_examples
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
