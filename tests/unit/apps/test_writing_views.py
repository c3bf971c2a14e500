"""The writing screen's formatting: the checker report as rows, progress lines, the prediction
and the satisfaction lines and table, over the service's dict shapes."""

from __future__ import annotations

from typing import Any

from twincore.apps import writing_views as views
from twincore.services.writing.checkers import check_text
from twincore.services.writing.generate.drafts import report_dict
from twincore.services.writing.registry import get_style, load_styles
from twincore.services.writing.service import style_dict

NAMES = {s.id: s.name_en for s in load_styles().values()}
SIX_SYLLABLES = "An ancient stone lantern\nholds a puddle of spring rain\na frog wakes inside"


def test_a_failed_constraint_is_a_zero_score_row_with_its_reason() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    rows = views.report_rows(report)
    assert rows[0] == ["three lines", "line_count", 1.0, "pass", "ok"]
    assert rows[1][:4] == ["5-7-5 syllables", "syllables_per_line", 0.0, "fail"]
    assert "line 1 has 6 syllables, needs 5" in rows[1][4]
    assert views.score_line(report) == "1/2 constraints, score 0.50: some constraints failed"


def test_progress_lines_name_the_candidate_and_the_revision() -> None:
    report = report_dict(check_text(get_style("haiku"), SIX_SYLLABLES))
    token = {"event": "token", "candidate": 0, "revised": False, "text": "An"}
    assert views.progress_line(token, 3) == "candidate 1: writing, 3 pieces so far"
    draft = {"event": "draft", "candidate": 1, "revised": True, "report": report}
    assert views.progress_line(draft, 9) == (
        "candidate 2 (revision): checked, 1/2 constraints, score 0.50"
    )


def test_prediction_says_whether_it_matches_and_gives_similarity_for_rewrites() -> None:
    draft: dict[str, Any] = {"predicted_style": "haiku", "style": "haiku", "similarity": None}
    assert views.prediction_line(draft, NAMES) == "Haiku (haiku): matches the style asked for"
    draft.update(predicted_style="limerick", similarity=0.4321)
    assert views.prediction_line(draft, NAMES) == (
        "Limerick (limerick): asked for Haiku; content similarity to the source 0.43"
    )


def test_satisfaction_lines_and_table() -> None:
    ratings = {"haiku": {"count": 2, "average": 2.5}}
    assert views.average_line("haiku", ratings, NAMES) == "Haiku: 2.50 / 5 from 2 ratings"
    assert views.average_line("sonnet", ratings, NAMES).endswith("no ratings yet")
    styles = [style_dict(s, ratings.get(s.id)) for s in load_styles().values()]
    rows = {row[0]: row for row in views.rating_rows(styles)}
    assert len(rows) == 12 and rows["haiku"][2:] == [2, "2.50"] and rows["wujue"][2:] == [0, ""]


def test_every_style_card_shows_its_constraints_and_all_exemplars() -> None:
    for style in load_styles().values():
        card = views.style_card(style_dict(style))
        assert all(c.description in card for c in style.constraints)
        assert all(e in card for e in style.exemplars)
        assert f"Exemplar {len(style.exemplars)}" in card
