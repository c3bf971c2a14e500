"""A tiny `eval writing` run on the real SmolLM2 swift core: one haiku topic and one source."""

from __future__ import annotations

import pytest

from twincore.platform.cores import CoreServer
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.services.writing.checkers import check_text
from twincore.services.writing.classify.classifier import load_classifier
from twincore.services.writing.evals import outcomes, run_jobs
from twincore.services.writing.evaluation.items import Job, eval_items, resolve_styles
from twincore.services.writing.evaluation.report import build_report
from twincore.services.writing.generate.run import writing_chat_model

pytestmark = pytest.mark.anyio


async def test_eval_rows_and_rates_on_the_swift_core(smol_cores: dict[str, CoreServer]) -> None:
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    chats = {"swift": writing_chat_model(router, model="swift")}
    items = eval_items(resolve_styles(["haiku"]), limit=1)
    assert [i.mode for i in items] == ["compose", "rewrite"]
    classifier = load_classifier()
    done: list[str] = []
    results = await run_jobs(
        chats,
        [Job("swift", item) for item in items],
        candidates=1,  # one sample plus the revise turn: the guided path, at CI's cost
        classifier=classifier,
        concurrency=2,
        on_done=lambda job, result: done.append(job.item.mode),
    )
    assert sorted(done) == ["compose", "rewrite"]  # each job reported as it finished
    rows = outcomes(results, classifier)
    assert [r["condition"] for r in rows] == ["guided", "unguided"] * 2
    haiku = items[0].style
    for guided, unguided in zip(rows[::2], rows[1::2], strict=True):
        # Both are the checker's own verdicts, and guidance never picks a worse text.
        # a rewrite is also checked for having changed its source's style (its similarity)
        for row in (guided, unguided):
            assert (
                row["score"] == check_text(haiku, row["text"], similarity=row["similarity"]).score
            )
        assert guided["score"] >= unguided["score"]
        assert guided["predicted_style"] == classifier.predict(guided["text"])
    assert rows[2]["similarity"] is not None and rows[0]["similarity"] is None
    report = build_report(rows)
    assert report["per_style"]["haiku"]["n"] == 2
    assert 0.0 <= report["constraint_pass_rate"] <= 1.0
    assert report["by_core"]["swift"]["unguided"]["rewrites"] == 1
