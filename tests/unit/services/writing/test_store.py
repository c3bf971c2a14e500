"""Drafts and ratings in SQL over the migrated schema: 1-5 only, averages per style."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from twincore.platform.db.engine import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.platform.errors import Invalid, NotFound
from twincore.services.writing.checkers import check_text
from twincore.services.writing.classify.classifier import load_classifier
from twincore.services.writing.generate.drafts import Draft, WritingResult, WritingTask
from twincore.services.writing.models import WritingRating
from twincore.services.writing.registry import get_style
from twincore.services.writing.store import (
    add_rating,
    get_draft,
    list_drafts,
    save_draft,
    style_ratings,
)


def _result(style_id: str, text: str) -> tuple[WritingTask, WritingResult]:
    style = get_style(style_id)
    draft = Draft(0, text, check_text(style, text), None, core="swift")
    predicted = load_classifier().predict(text)
    return WritingTask(style, "compose", "a topic"), WritingResult(draft, predicted, 0.9, [draft])


def test_drafts_and_ratings_round_trip(database_url: str) -> None:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    try:
        haiku, limerick = get_style("haiku"), get_style("limerick")
        first = save_draft(sessions, *_result("haiku", haiku.exemplars[0]), model="swift")
        second = save_draft(sessions, *_result("limerick", limerick.exemplars[0]), model="auto")
        assert first["report"]["passed"] and first["predicted_style"] == "haiku"
        assert first["ratings"] == {"count": 0, "average": None}
        assert [d["id"] for d in list_drafts(sessions)] == [second["id"], first["id"]]
        assert [d["id"] for d in list_drafts(sessions, "haiku")] == [first["id"]]

        add_rating(sessions, first["id"], 5)
        rated = add_rating(sessions, first["id"], 2, "too plain")
        add_rating(sessions, second["id"], 4)
        assert rated["ratings"] == {"count": 2, "average": 3.5}
        assert get_draft(sessions, first["id"])["ratings"]["count"] == 2
        assert style_ratings(sessions) == {
            "haiku": {"count": 2, "average": 3.5},
            "limerick": {"count": 1, "average": 4.0},
        }

        for bad in (0, 6, 3.5, True):
            with pytest.raises(Invalid, match="1 to 5"):
                add_rating(sessions, first["id"], bad)  # type: ignore[arg-type]
        with pytest.raises(NotFound, match="no draft 999"):
            add_rating(sessions, 999, 3)
        with pytest.raises(NotFound):
            get_draft(sessions, 999)
        # The schema itself refuses an out-of-range rating written around the store.
        with pytest.raises(IntegrityError), session_scope(sessions) as session:
            session.add(WritingRating(draft_id=first["id"], stars=9, comment=""))
        assert get_draft(sessions, first["id"])["ratings"]["count"] == 2
    finally:
        engine.dispose()
