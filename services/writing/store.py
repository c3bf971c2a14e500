"""Reading and writing drafts and ratings; each write is one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.db.engine import session_scope
from twincore.platform.errors import Invalid, NotFound
from twincore.services.writing.generate.drafts import WritingResult, WritingTask
from twincore.services.writing.models import WritingDraft, WritingRating

MAX_COMMENT = 2000


def draft_dict(draft: WritingDraft) -> dict[str, Any]:
    """A draft as the API shows it, with its ratings' count and mean."""
    stars = [r.stars for r in draft.ratings]
    return {
        "id": draft.id,
        "status": "met" if draft.passed else "unmet",
        "created_at": draft.created_at.isoformat(),
        "style": draft.style_id,
        "mode": draft.mode,
        "prompt": draft.prompt,
        "text": draft.text,
        "report": draft.report,
        "predicted_style": draft.predicted_style,
        "similarity": draft.similarity,
        "revised": draft.revised,
        "candidates": draft.candidates,
        "model": draft.model,
        "core": draft.core,
        "twincore": twincore_block(draft.decision),
        "ratings": {
            "count": len(stars),
            "average": round(sum(stars) / len(stars), 3) if stars else None,
        },
    }


def twincore_block(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """The escalation block a draft was stored with; None for drafts stored before the cascade
    (their `decision` column holds the router's decision alone)."""
    return stored if stored is not None and "attempts" in stored else None


def save_draft(
    sessions: sessionmaker[Session], task: WritingTask, result: WritingResult, model: str
) -> dict[str, Any]:
    """Store a generation's chosen draft; the stored draft as the API shows it."""
    body = result.as_dict()
    with session_scope(sessions) as session:
        draft = WritingDraft(
            style_id=task.style.id,
            mode=task.mode,
            prompt=task.prompt,
            text=result.best.text,
            score=result.best.report.score,
            passed=result.best.report.passed,
            report=body["report"],
            predicted_style=result.predicted_style,
            similarity=result.best.similarity,
            revised=result.best.revised,
            candidates=body["candidates"],
            model=model,
            core=result.best.core,
            decision=result.twincore or result.decision,
            ratings=[],
        )
        session.add(draft)
        session.flush()
        return draft_dict(draft)


def get_draft(sessions: sessionmaker[Session], draft_id: int) -> dict[str, Any]:
    """One draft; `NotFound` when there is none."""
    with session_scope(sessions) as session:
        draft = session.get(WritingDraft, draft_id)
        if draft is None:
            raise NotFound(f"no draft {draft_id}")
        return draft_dict(draft)


def list_drafts(
    sessions: sessionmaker[Session], style_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest drafts first, of one style or all."""
    if not 1 <= limit <= 500:
        raise Invalid("limit must be between 1 and 500", param="limit")
    query = select(WritingDraft).order_by(WritingDraft.id.desc()).limit(limit)
    if style_id is not None:
        query = query.where(WritingDraft.style_id == style_id)
    with session_scope(sessions) as session:
        return [draft_dict(d) for d in session.scalars(query)]


def add_rating(
    sessions: sessionmaker[Session], draft_id: int, stars: int, comment: str = ""
) -> dict[str, Any]:
    """Rate a draft 1-5 (`Invalid` otherwise, `NotFound` for no draft); the draft after."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise Invalid(f"stars must be an integer from 1 to 5, not {stars!r}", param="stars")
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"the comment is longer than {MAX_COMMENT} characters", param="comment")
    with session_scope(sessions) as session:
        draft = session.get(WritingDraft, draft_id)
        if draft is None:
            raise NotFound(f"no draft {draft_id}")
        draft.ratings.append(WritingRating(stars=stars, comment=comment))
        session.flush()
        return draft_dict(draft)


def style_ratings(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    """Per style with ratings: how many and their mean (average satisfaction)."""
    query = (
        select(WritingDraft.style_id, func.count(WritingRating.id), func.avg(WritingRating.stars))
        .join(WritingRating, WritingRating.draft_id == WritingDraft.id)
        .group_by(WritingDraft.style_id)
    )
    with session_scope(sessions) as session:
        return {
            style: {"count": int(count), "average": round(float(mean), 3)}
            for style, count, mean in session.execute(query)
        }
