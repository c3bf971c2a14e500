"""The writing service: the facade the API and the Gradio app call.

`write` runs checker-guided generation (compose or rewrite) through the router's escalation
ladder (the constraint checker is the verifier) and stores the chosen draft with its status
(`met`, or `unmet` with its report) and `twincore` block; `write_events` is the same run as a
stream of JSON-ready events; `styles` lists
the registry with each style's average rating; `drafts`, `draft` and `rate` read and rate
stored drafts. Failures are the platform's family: an unknown style or draft is `NotFound`,
unusable input `Invalid`; a core's failure passes through as `TwincoreError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from twincore.platform.db.engine import create_db_engine, session_factory
from twincore.platform.router.router import RouterClient
from twincore.platform.router.setup import service_ladder
from twincore.platform.settings import Settings
from twincore.services.writing import store
from twincore.services.writing.classify.classifier import load_classifier
from twincore.services.writing.generate.drafts import (
    Draft,
    Mode,
    WritingTask,
    draft_summary,
    report_dict,
)
from twincore.services.writing.generate.run import SERVICE, WritingRun, writing_chat_model
from twincore.services.writing.registry import Style, get_style, load_styles


def style_dict(style: Style, ratings: dict[str, Any] | None = None) -> dict[str, Any]:
    """A style as the API shows it: names, description, exemplars, constraints, ratings."""
    return {
        "id": style.id,
        "name": {"en": style.name_en, "zh": style.name_zh},
        "display_name": style.display_name,
        "language": style.language,
        "description": style.description,
        "exemplars": list(style.exemplars),
        "constraints": [{"kind": c.kind, "description": c.description} for c in style.constraints],
        "ratings": ratings or {"count": 0, "average": None},
    }


def draft_progress(draft: Draft) -> dict[str, Any]:
    """A checked candidate as a progress event shows it: which, its score, what failed."""
    return {
        "attempt": draft.attempt,
        "step": draft.step,
        "candidate": draft.candidate,
        "revised": draft.revised,
        "core": draft.core,
        "text": draft.text,
        "similarity": draft.similarity,
        "report": report_dict(draft.report),
    }


class WritingService:
    """Writes in the registry's styles through the router; drafts and ratings live in SQL."""

    def __init__(self, router: RouterClient, settings: Settings) -> None:
        self.router = router
        self.ladder = service_ladder(settings, SERVICE)
        self.engine = create_db_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.classifier = load_classifier()

    async def styles(self) -> list[dict[str, Any]]:
        """Every style with its average satisfaction."""
        ratings = await asyncio.to_thread(store.style_ratings, self.sessions)
        return [style_dict(s, ratings.get(s.id)) for s in load_styles().values()]

    async def style(self, style_id: str) -> dict[str, Any]:
        """One style; `NotFound` for an unknown id."""
        style = get_style(style_id)
        ratings = await asyncio.to_thread(store.style_ratings, self.sessions)
        return style_dict(style, ratings.get(style.id))

    async def write(
        self,
        *,
        mode: Mode,
        style: str,
        prompt: str,
        model: str = "auto",
        candidates: int | None = None,
        guided: bool = True,
        revise: bool = True,
        max_tokens: int = 256,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Generate (compose or rewrite), store the chosen draft; the stored draft with its run:
        `status` (`met` or `unmet`), the checker `report`, the `drafts` tried and `twincore`.

        `NotFound` for an unknown style, `Invalid` for an empty prompt or bad counts.
        """
        events = self.write_events(
            mode=mode,
            style=style,
            prompt=prompt,
            model=model,
            candidates=candidates,
            guided=guided,
            revise=revise,
            max_tokens=max_tokens,
            seed=seed,
        )
        async with aclosing(events):
            async for event in events:
                if event["event"] == "result":
                    result: dict[str, Any] = event["draft"]
                    return result
        raise RuntimeError("the writing run ended without a result")

    async def write_events(
        self,
        *,
        mode: Mode,
        style: str,
        prompt: str,
        model: str = "auto",
        candidates: int | None = None,
        guided: bool = True,
        revise: bool = True,
        max_tokens: int = 256,
        seed: int | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The generation as JSON-ready events: `start`, then `token` (reply text of a
        candidate, with its `core` when known), `draft` (a checked candidate) and `attempt` (a
        rung's best, checked) as they come, then `result` with the stored draft (status, text,
        checker report, predicted style, similarity, id, `twincore`). `revise=False` leaves
        out the ladder's `repair` rung; `seed` samples every candidate (a "try again" gets new
        texts).

        The request is validated before the first event, so a caller can answer bad input
        before streaming. Only the chosen draft is stored, after the run: a run cut short
        stores nothing.
        """
        task = WritingTask(get_style(style), mode, prompt)
        chat = writing_chat_model(self.router, model=model)
        run = WritingRun(
            chat,
            task,
            n=candidates,
            guided=guided,
            revise=revise,
            max_tokens=max_tokens,
            classifier=self.classifier,
            ladder=self.ladder,
            seed=seed,
        )
        yield {"event": "start", "style": task.style.id, "mode": mode, "model": model}
        async for event in run.events():
            if event.kind == "text":
                yield {
                    "event": "token",
                    "attempt": event.attempt,
                    "step": event.step,
                    "candidate": event.candidate,
                    "revised": event.step == "repair",
                    "core": event.core,
                    "text": event.text,
                }
            elif event.kind in ("draft", "attempt") and event.draft is not None:
                yield {"event": event.kind, **draft_progress(event.draft)}
        assert run.result is not None
        stored = await asyncio.to_thread(store.save_draft, self.sessions, task, run.result, model)
        drafts = [draft_summary(d) for d in run.result.drafts]
        yield {"event": "result", "draft": {**stored, "drafts": drafts}}

    async def drafts(self, *, style: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest drafts first, of one style (`NotFound` if unknown) or all."""
        if style is not None:
            get_style(style)
        return await asyncio.to_thread(store.list_drafts, self.sessions, style, limit)

    async def draft(self, draft_id: int) -> dict[str, Any]:
        """One draft; `NotFound` when there is none."""
        return await asyncio.to_thread(store.get_draft, self.sessions, draft_id)

    async def rate(self, draft_id: int, stars: int, comment: str = "") -> dict[str, Any]:
        """Rate a draft 1-5 (`Invalid` otherwise, `NotFound` for no draft); the draft with its
        new count and average."""
        return await asyncio.to_thread(store.add_rating, self.sessions, draft_id, stars, comment)

    async def ratings(self) -> dict[str, dict[str, Any]]:
        """Average satisfaction per rated style."""
        return await asyncio.to_thread(store.style_ratings, self.sessions)
