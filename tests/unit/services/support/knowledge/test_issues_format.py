"""The known-issues format and the checks on an extraction reply, over a small real catalogue
(names from Northwind's products.csv)."""

from __future__ import annotations

import pytest
import yaml

from twincore.services.support.knowledge.extraction import (
    ExtractionError,
    mentioned_products,
    validate_reply,
)
from twincore.services.support.knowledge.issues import (
    KnowledgeError,
    entries_of,
    resolve,
    to_yaml,
)

CATALOGUE = {"1": "Chai", "2": "Chang", "5": "Chef Anton's Gumbo Mix", "14": "Tofu"}


def test_ids_are_derived_and_the_yaml_round_trips() -> None:
    entries = [
        {
            "product": "chai",
            "title": "Bags tear!",
            "solutions": ["Steep at 90 °C.", {"text": "Keep dry."}],
        }
    ]
    (issue,) = resolve(entries, CATALOGUE, "t").issues
    assert (issue.issue_id, issue.product_id, issue.product_name) == ("P1-BAGS-TEAR", "1", "Chai")
    assert [s.solution_id for s in issue.solutions] == ["P1-BAGS-TEAR-1", "P1-BAGS-TEAR-2"]
    text = to_yaml([issue], "line one\nline two")
    assert text.startswith("# line one\n# line two\nversion: 1\n")
    assert resolve(entries_of(yaml.safe_load(text), "t"), CATALOGUE, "t").issues == [issue]


def test_duplicate_ids_bad_ids_and_versions_are_refused() -> None:
    twice = [
        {"id": "X-1", "product": "Chai", "title": "a", "solutions": ["s"]},
        {"id": "X-1", "product": "Tofu", "title": "b", "solutions": ["s"]},
        {"id": "bad id!", "product": "Tofu", "title": "c", "solutions": ["s"]},
    ]
    with pytest.raises(KnowledgeError) as raised:
        resolve(twice, CATALOGUE, "t")
    assert "id 'X-1' is used twice" in str(raised.value)
    assert "id 'bad id!' must be letters" in str(raised.value)
    with pytest.raises(KnowledgeError, match="version must be 1"):
        entries_of({"version": 2, "issues": twice}, "t")
    with pytest.raises(KnowledgeError, match="non-empty `issues:` list"):
        entries_of({"issues": []}, "t")
    with pytest.raises(KnowledgeError, match="no products"):
        resolve(twice, {}, "t")


def test_reply_names_are_corrected_or_rejected_with_reasons() -> None:
    reply = (
        "Here you go:\n```yaml\nissues:\n"
        "  - product: Chef Antons Gumbo Mix\n    title: Lumps in the mix\n"
        "    solutions:\n      - text: Whisk into cold water first.\n"
        "  - product: Unicorn Milk\n    title: Sparkles\n    solutions:\n      - text: none\n```"
    )
    issues, rejected, notes = validate_reply(reply, CATALOGUE)
    assert [i.product_id for i in issues] == ["5"]
    assert notes == [
        "issues[0]: product 'Chef Antons Gumbo Mix' read as \"Chef Anton's Gumbo Mix\""
    ]
    assert len(rejected) == 1 and "unknown product 'Unicorn Milk'" in rejected[0]
    assert rejected[0].startswith("issues[1]")
    with pytest.raises(ExtractionError, match="not valid YAML"):
        validate_reply("```yaml\nissues: [a, {\n```", CATALOGUE)
    with pytest.raises(KnowledgeError, match="must be a mapping"):
        validate_reply("issues:\n  - just text\n", CATALOGUE)


def test_products_mentioned_in_an_article() -> None:
    article = "Chai bags tear; Chang is fine. Nothing about Tofus or Chais here."
    assert mentioned_products(article, CATALOGUE) == ["Chang", "Chai"]
