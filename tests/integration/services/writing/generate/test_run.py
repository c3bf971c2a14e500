"""Checker-guided generation on a real SmolLM2 core: best-of-n, the repair rung, the report."""

from __future__ import annotations

import pytest

from twincore.platform.cores import CoreServer
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.services.writing.checkers import check_text
from twincore.services.writing.generate.drafts import WritingTask
from twincore.services.writing.generate.run import WritingRun, writing_chat_model
from twincore.services.writing.registry import get_style, load_styles

pytestmark = pytest.mark.anyio


async def test_compose_and_rewrite_on_the_swift_core(smol_cores: dict[str, CoreServer]) -> None:
    router = Router(smol_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    model = writing_chat_model(router, model="swift")
    haiku = get_style("haiku")
    run = WritingRun(model, WritingTask(haiku, "compose", "autumn rain"), n=2, max_tokens=24)
    kinds = [event.kind async for event in run.events()]
    result = run.result
    assert result is not None and kinds[-1] == "result" and "text" in kinds
    candidates = {d.candidate for d in result.drafts}
    assert candidates == {0, 1}
    # The report is the checker's own verdict on the chosen text, and the best is the best.
    assert result.best.report == check_text(haiku, result.best.text)
    assert result.best.report.score == max(d.report.score for d in result.drafts)
    # A failing best gets exactly one repair (one greedy revision); a passing one gets none.
    # The core is pinned, so the ladder's `other` rung does not apply.
    written = [d for d in result.drafts if not d.revised]
    revised = [d for d in result.drafts if d.revised]
    assert len(written) == 2 and all(d.step == "first" for d in written)
    assert len(revised) == (0 if any(d.report.passed for d in written) else 1)
    assert result.twincore is not None
    steps = [a["step"] for a in result.twincore["attempts"]]
    assert steps == (["first"] if not revised else ["first", "repair"])
    assert result.status == ("met" if result.best.report.passed else "unmet")
    assert result.twincore["verdict"]["passed"] == result.best.report.passed
    assert result.predicted_style in load_styles() and 0.0 < result.style_probability <= 1.0
    assert result.best.core == "swift" and result.best.completion_tokens > 0
    assert result.decision is not None and result.decision["core"] == "swift"

    source = "The mayor opened the new bridge over the river on Monday morning."
    plain = WritingRun(
        model, WritingTask(get_style("news"), "rewrite", source), guided=False, max_tokens=24
    )
    baseline = await plain.run()
    assert len(baseline.drafts) == 1 and not baseline.best.revised
    assert baseline.twincore is not None and len(baseline.twincore["attempts"]) == 1
    assert baseline.best.similarity is not None and 0.0 <= baseline.best.similarity <= 1.0
    body = baseline.as_dict()
    assert body["report"]["constraints"] and body["similarity"] == baseline.best.similarity
