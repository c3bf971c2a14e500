"""Known-issue knowledge on the shared Northwind graph: the shipped YAML loads (all or nothing),
the known-issue intent answers from it, and extraction with the real swift core yields
reviewable YAML or a clear error without touching the graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.cores import CoreServer
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.services.support.intents.detect import IntentName, detect
from twincore.services.support.intents.linking import EntityLinker
from twincore.services.support.intents.templates import answer_intent
from twincore.services.support.knowledge.extraction import ExtractionError, extract_issues
from twincore.services.support.knowledge.issues import (
    DEFAULT_FILE,
    KnowledgeError,
    catalogue_of,
    counts,
    entries_of,
    load_issues,
    read_file,
    resolve,
    to_yaml,
)
from twincore.services.support.knowledge.northwind import LoadReport, count_nodes, load_northwind

NONE = {"Issue": 0, "Solution": 0, "HAS_ISSUE": 0, "SOLVED_BY": 0}
ARTICLE = (
    "Support note 14: several cafés reported that Chai tea bags split open when steeped in "
    "boiling water, leaving loose leaves in the cup. Fix: steep at 90 degrees instead of a "
    "rolling boil, do not squeeze the bag, and store cartons in a dry room."
)


@pytest.fixture
def graph(northwind: tuple[FalkorDBStore, LoadReport]) -> Iterator[FalkorDBStore]:
    """The shared graph; any issue knowledge a test added is removed again (by a reload, which
    also forgets the labels, so the other modules see plain Northwind)."""
    store, report = northwind
    assert counts(store) == NONE
    yield store
    if counts(store) != NONE or count_nodes(store) != report.nodes:
        load_northwind(store)


def test_shipped_file_loads_and_the_known_issue_intent_answers_from_it(
    graph: FalkorDBStore,
) -> None:
    resolved = read_file(DEFAULT_FILE, graph)
    entries = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))["issues"]
    n_solutions = sum(len(e["solutions"]) for e in entries)
    report = load_issues(graph, resolved.issues)
    assert (report.issues, report.solutions) == (len(entries), n_solutions)
    assert report.products >= 10
    expected = {
        "Issue": len(entries),
        "Solution": n_solutions,
        "HAS_ISSUE": len(entries),
        "SOLVED_BY": n_solutions,
    }
    assert counts(graph) == expected
    load_issues(graph, resolved.issues)  # merged by id: a reload changes nothing
    assert counts(graph) == expected

    schema, linker = graph.schema(), EntityLinker(graph)
    intent = detect(
        "Is there a known problem with Chai?", linker.link("Is there a known problem with Chai?")
    )
    assert intent is not None and intent.name == IntentName.KNOWN_ISSUE
    answer = answer_intent(intent, graph, schema)
    assert answer.resolved, answer.text
    assert "Tea bags tear when steeped in boiling water" in answer.text
    assert "90-95 °C" in answer.text and "[1]" in answer.text
    assert [(c.label, c.key) for c in answer.citations] == [("Issue", "CHAI-BAGS-TEAR")]
    question = "the louisiana fiery hot pepper sauce bottles leak, how do I fix it?"
    sauce_intent = detect(question, linker.link(question))
    assert sauce_intent is not None and sauce_intent.name == IntentName.KNOWN_ISSUE
    sauce = answer_intent(sauce_intent, graph, schema)
    assert sauce.resolved and len(sauce.citations) == 2  # one issue, two solutions
    assert "inner seal" in sauce.text


def test_a_bad_file_names_every_problem_and_writes_nothing(
    graph: FalkorDBStore, tmp_path: Path
) -> None:
    bad = tmp_path / "issues.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "issues": [
                    {"product": "Chai", "title": "Fine", "solutions": ["Steep shorter."]},
                    {"product": "Chia", "title": "Typo", "solutions": ["x"]},
                    {"product_id": "999", "title": "No such id", "solutions": ["x"]},
                    {"product": "Chang", "title": "No fix", "solutions": []},
                    {"product": "Tofu", "severity": "urgent", "solutions": ["x"]},
                    {
                        "product": "Chang",
                        "product_id": "1",
                        "title": "Wrong id",
                        "solutions": ["x"],
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as raised:
        read_file(bad, graph)
    message = str(raised.value)
    assert "unknown product 'Chia' (did you mean 'Chai'" in message
    assert "unknown product_id '999'" in message
    assert "solutions must be a non-empty list" in message
    assert "title is required" in message and "severity must be one of" in message
    assert "product 'Chang' is productID 2, not '1'" in message
    assert "nothing written" in message
    assert counts(graph) == NONE
    bad.write_text("issues: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        read_file(bad, graph)


def test_extraction_with_the_swift_core_gives_reviewable_yaml_or_a_clear_error(
    graph: FalkorDBStore, smol_cores: dict[str, CoreServer]
) -> None:
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    model = TwincoreChatModel.over_router(router, model="swift")
    catalogue = catalogue_of(graph)
    try:
        found = extract_issues(ARTICLE, model, catalogue, max_attempts=1, max_tokens=160)
    except ExtractionError as exc:
        assert "no usable known issue" in str(exc) and "its last reply began" in str(exc)
    else:
        assert found.issues and found.attempts == 1
        text = to_yaml(found.issues, "review me")
        assert text.startswith("# review me\n")
        # What was written for review loads as it stands: products exist, fields are valid.
        again = resolve(entries_of(yaml.safe_load(text), "out"), catalogue, "out")
        assert again.issues == found.issues
    assert counts(graph) == NONE  # extraction never writes to the graph
