"""`eval writing`: the fixed items, scored rows, their aggregation into rates per condition,
core and style with the gains, and rescoring a saved report or an interrupted run's rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from twincore.platform.errors import NotFound
from twincore.platform.evals.local import RowLog
from twincore.platform.settings import Settings
from twincore.services.writing.checkers import check_text
from twincore.services.writing.classify.classifier import load_classifier
from twincore.services.writing.evals import outcomes, rescore, rescore_file
from twincore.services.writing.evaluation.items import (
    EvalItem,
    Job,
    eval_items,
    load_sources,
    resolve_styles,
)
from twincore.services.writing.evaluation.report import build_report, summarize, table_rows
from twincore.services.writing.generate.drafts import Draft, WritingResult
from twincore.services.writing.registry import get_style


def row(
    core: str,
    style: str,
    condition: str,
    *,
    passed: bool,
    score: float,
    classified: bool,
    similarity: float | None = None,
) -> dict[str, Any]:
    return {
        "core": core,
        "style": style,
        "mode": "rewrite" if similarity is not None else "compose",
        "item": "t",
        "condition": condition,
        "score": score,
        "passed": passed,
        "classified": classified,
        "similarity": similarity,
    }


ROWS = [
    row("swift", "haiku", "guided", passed=True, score=1.0, classified=True),
    row("swift", "haiku", "unguided", passed=False, score=0.5, classified=True),
    row("swift", "haiku", "guided", passed=False, score=0.5, classified=False, similarity=0.6),
    row("swift", "haiku", "unguided", passed=False, score=0.0, classified=False, similarity=0.8),
    row("deep", "noir", "guided", passed=True, score=1.0, classified=True),
    row("deep", "noir", "unguided", passed=True, score=1.0, classified=False),
]


def test_rates_overall_per_style_per_core_and_the_gain() -> None:
    report = build_report(ROWS)
    assert report["constraint_pass_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["classifier_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["per_style"]["haiku"]["constraint_pass_rate"] == 0.5
    assert report["per_style"]["noir"]["classifier_accuracy"] == 1.0
    unguided = report["conditions"]["unguided"]
    assert unguided["constraint_pass_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert unguided["per_style"]["haiku"]["content_similarity"] == 0.8
    swift = report["by_core"]["swift"]
    assert swift["guided"]["mean_score"] == 0.75 and swift["unguided"]["mean_score"] == 0.25
    assert swift["guidance_gain"]["constraint_pass_rate"] == 0.5
    assert swift["guidance_gain"]["content_similarity"] == pytest.approx(-0.2)
    assert report["by_core"]["deep"]["guidance_gain"]["classifier_accuracy"] == 1.0
    assert report["by_core"]["deep"]["guided"]["content_similarity"] is None
    assert len(report["rows"]) == len(ROWS)


def test_empty_groups_and_unknown_conditions() -> None:
    empty = summarize([])
    assert empty["n"] == 0 and empty["constraint_pass_rate"] is None
    with pytest.raises(ValueError, match="unknown conditions"):
        build_report([{**ROWS[0], "condition": "oracle"}])


def test_table_lists_each_core_style_then_overall() -> None:
    rows = table_rows(build_report(ROWS))
    assert [(c, s, k) for c, s, k, _ in rows[:3]] == [
        ("swift", "haiku", "guided"),
        ("swift", "haiku", "unguided"),
        ("swift", "overall", "guided"),
    ]
    assert rows[-1][:3] == ("deep", "overall", "unguided") and rows[-1][3]["n"] == 1


def test_items_take_each_styles_language_and_the_limit() -> None:
    styles = resolve_styles(["haiku", "wujue"])
    items = eval_items(styles)
    en_sources = [s for s in load_sources() if s["language"] == "en"]
    haiku = [i for i in items if i.style.id == "haiku"]
    assert {i.mode for i in haiku} == {"compose", "rewrite"}
    assert len([i for i in haiku if i.mode == "rewrite"]) == len(en_sources)
    wujue_topic = next(i for i in items if i.style.id == "wujue" and i.mode == "compose")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in wujue_topic.prompt)
    limited = eval_items(styles, limit=1)
    assert len(limited) == 4 and {i.mode for i in limited} == {"compose", "rewrite"}
    with pytest.raises(NotFound, match="unknown style"):
        resolve_styles(["villanelle"])
    with pytest.raises(ValueError, match="limit"):
        eval_items(styles, limit=0)


def test_outcomes_score_the_chosen_draft_and_the_first_sample() -> None:
    haiku = get_style("haiku")
    good, bad = haiku.exemplars[0], "a frog\nin the pond"
    first = Draft(0, bad, check_text(haiku, bad), None)
    other = Draft(1, good, check_text(haiku, good), None)
    revised = Draft(0, bad + "\nagain", check_text(haiku, bad + "\nagain"), None, revised=True)
    result = WritingResult(other, "haiku", 0.9, [first, other, revised])
    job = Job("swift", EvalItem(haiku, "compose", "pond", "a pond"))
    guided, unguided = outcomes([(job, result)], load_classifier(), include_text=True)
    assert guided["condition"] == "guided" and guided["text"] == good and guided["passed"]
    assert guided["classified"] and guided["predicted_style"] == "haiku"
    assert unguided["condition"] == "unguided" and unguided["text"] == bad
    assert not unguided["passed"] and unguided["failures"]


def test_rescore_checks_the_recorded_texts_again() -> None:
    haiku = get_style("haiku")
    recorded = {
        "rows": [
            {**ROWS[0], "text": haiku.exemplars[0], "score": 0.0, "passed": False},
            {**ROWS[1], "text": "one line only", "score": 1.0, "passed": True},
        ],
        "settings": {"candidates": 2},
    }
    report = rescore(recorded, load_classifier())
    guided, unguided = report["rows"]
    assert guided["passed"] and guided["score"] == 1.0 and guided["classified"]
    assert not unguided["passed"] and unguided["failures"]
    assert report["constraint_pass_rate"] == 1.0 and report["settings"] == {"candidates": 2}
    with pytest.raises(ValueError, match="no texts"):
        rescore({"rows": [ROWS[0]]})


def test_the_rows_an_interrupted_run_streamed_can_be_rescored(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'db'}")
    haiku = get_style("haiku")
    with RowLog(settings, "writing", "swift-limit1") as log:
        log.add({**ROWS[0], "text": haiku.exemplars[0]})
        log.add({**ROWS[1], "text": "one line only"})
    report, path = rescore_file(settings, log.path)
    assert path == tmp_path / "evals" / "writing-swift-limit1-rescored.json"
    assert path.is_file() and "created_at" in report
    assert [r["passed"] for r in report["rows"]] == [True, False]
