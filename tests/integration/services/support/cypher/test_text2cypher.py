"""The text-to-Cypher loop with the real swift core: every query it runs passed the guard."""

from __future__ import annotations

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.cores import CoreServer
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.services.support.cypher.guard import validate
from twincore.services.support.cypher.text2cypher import ask_core
from twincore.services.support.knowledge.northwind import LoadReport, count_nodes


def test_loop_validates_and_answers_or_refuses(
    northwind: tuple[FalkorDBStore, LoadReport], smol_cores: dict[str, CoreServer]
) -> None:
    store, report = northwind
    schema = store.schema()
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    model = TwincoreChatModel.over_router(router, model="swift")
    # 80 tokens hold a short query and keep the test's CPU time down.
    result = ask_core(
        "How many customers are in Germany?", model, store, schema, max_attempts=2, max_tokens=80
    )
    assert 1 <= len(result.attempts) <= 2
    ans = result.answer
    ran = [a for a in result.attempts if a.error is None]
    # At most the last attempt ran, and only after the guard accepted it.
    assert all(a.error for a in result.attempts[:-1])
    for attempt in ran:
        validate(attempt.cypher, schema)
    if ans.resolved:
        assert ran and ans.rows and "[1]" in ans.text
    else:
        assert ans.rows == [] and ans.citations == []
        assert ("could not turn" in ans.text) or ("found nothing" in ans.text)
    assert count_nodes(store) == report.nodes  # nothing the core wrote changed the graph
