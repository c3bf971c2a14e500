"""The writing screen's formatting: style names in their own language, the verdict with what is
unmet and why, the checker report as rows, progress lines naming the core, the prediction and
the satisfaction table, over the service's dict shapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from twincore.apps import writing_views as views
from twincore.services.writing.checkers import check_text
from twincore.services.writing.generate.drafts import report_dict
from twincore.services.writing.registry import get_style, load_styles
from twincore.services.writing.service import style_dict

NAMES = {s.id: s.display_name for s in load_styles().values()}
SIX_SYLLABLES = "An ancient stone lantern\nholds a puddle of spring rain\na frog wakes inside"
HAN = re.compile(r"[\u3400-\u9fff]")


def _draft(report: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {"id": 7, "style": "haiku", "status": status, "report": report, "core": "swift",
            "created_at": now, **extra}  # fmt: skip


def test_style_names_are_in_the_styles_own_language_and_never_ids() -> None:
    styles = [style_dict(s) for s in load_styles().values()]
    for style in styles:
        label = views.style_label(style)
        assert label != style["id"]
        # English styles carry no Chinese name; Chinese ones lead with theirs.
        assert bool(HAN.search(label)) == (style["language"] == "zh")
    labels = {s["id"]: views.style_label(s) for s in styles}
    assert labels["limerick"] == "Limerick"
    assert labels["wujue"] == "五言绝句 (Five-character quatrain)"
    rows = views.rating_rows(styles)
    assert [row[0] for row in rows] == list(labels.values())


def test_an_unmet_verdict_names_each_unmet_rule_and_why() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    block = {"attempts": [{"step": "first", "core": "swift", "verdict": "fail", "reasons": [],
                           "candidates": 1, "tokens": 9, "ms": 1.0}]}  # fmt: skip
    shown = views.verdict_markdown(_draft(report, "unmet", twincore=block), NAMES)
    assert "Unmet</span>" in shown and "Not a finished Haiku: 1 of 2 rules unmet" in shown
    assert "- **5-7-5 syllables**: line 1 has 6 syllables, needs 5" in shown
    assert "three lines" not in shown  # a met rule is not listed as a failure
    assert "Try again" in shown and "Attempts: swift fail." in shown
    assert re.search(r"Saved as draft 7, today \d\d:\d\d\.$", shown)
    assert views.text_label(_draft(report, "unmet"), NAMES) == (
        "Best attempt: unmet, not a finished text, written by the swift core"
    )


def test_a_met_verdict_and_a_draft_stored_before_statuses() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    met = views.verdict_markdown(_draft({**report, "passed": True}, "met"), NAMES)
    assert "Met</span>\nThe text meets all 2 rules of the Haiku." in met
    assert views.text_label(_draft(report, "met"), NAMES) == "Haiku, written by the swift core"
    older = _draft(report, "")
    assert views.status_of(older) == "unmet" and "Unmet" in views.verdict_markdown(older, NAMES)


def test_the_report_rows_say_met_or_unmet_and_why() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    rows = views.report_rows(report)
    assert rows[0] == ["three lines", "met", "—"]
    assert rows[1][:2] == ["5-7-5 syllables", "unmet"]
    assert "line 1 has 6 syllables, needs 5" in rows[1][2]
    assert len(views.REPORT_COLUMNS) == len(views.REPORT_WIDTHS) == len(rows[0])


def test_progress_lines_name_the_candidate_the_revision_and_the_core() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    token = {"event": "token", "candidate": 0, "revised": False, "core": None, "text": "An"}
    assert views.progress_line(token, 3) == (
        "candidate 1 (the router picks the core): writing, 3 pieces so far"
    )
    draft = {"event": "draft", "candidate": 1, "revised": True, "core": "deep", "report": report}
    assert views.progress_line(draft, 9) == (
        "candidate 2 (revision) on the deep core: checked, 1/2 rules met"
    )
    assert views.writing_label(draft) == "Being written: candidate 2 (revision) on the deep core"
    event = {"attempt": 1, "step": "repair", "core": "swift", "report": report}
    assert views.attempt_line(event) == "attempt 2 (repair, swift core): unmet, 1/2 rules"


def test_prediction_says_whether_it_matches_and_gives_similarity_for_rewrites() -> None:
    draft: dict[str, Any] = {"predicted_style": "haiku", "style": "haiku", "similarity": None}
    assert views.prediction_line(draft, NAMES) == "Haiku: matches the style asked for"
    draft.update(predicted_style="wujue", similarity=0.4321)
    assert views.prediction_line(draft, NAMES) == (
        "五言绝句 (Five-character quatrain): asked for Haiku; content similarity to the source 0.43"
    )


def test_satisfaction_lines_and_table() -> None:
    ratings = {"haiku": {"count": 2, "average": 2.5}}
    assert views.average_line("haiku", ratings, NAMES) == "Haiku: 2.50 / 5 from 2 ratings"
    assert views.average_line("sonnet", ratings, NAMES).endswith("no ratings yet")
    styles = [style_dict(s, ratings.get(s.id)) for s in load_styles().values()]
    rows = {row[0]: row for row in views.rating_rows(styles)}
    assert len(rows) == 12 and rows["Haiku"][1:] == [2, "2.50"]
    assert rows["五言绝句 (Five-character quatrain)"][1:] == [0, "—"]


def test_every_style_card_shows_its_rules_and_all_exemplars() -> None:
    for style in load_styles().values():
        card = views.style_card(style_dict(style))
        assert all(c.description in card for c in style.constraints)
        assert all(e in card for e in style.exemplars)
        assert f"Exemplar {len(style.exemplars)}" in card
