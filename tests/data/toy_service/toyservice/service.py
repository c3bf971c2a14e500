"""Greets known names; an unknown one is the platform's NotFound. `checked` escalates."""

from __future__ import annotations

from typing import Any

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.platform.errors import Invalid, NotFound
from twincore.platform.router.cascade import collect_events
from twincore.platform.router.escalation import Ladder, Rung, Tried, Verdict, escalate
from twincore.platform.router.types import RouteRequest

KNOWN = ("ada", "grace")


class ToyService:
    def __init__(self, router: Any, settings: Any) -> None:
        self.router, self.settings = router, settings

    def greet(self, name: str) -> dict[str, str]:
        if name not in KNOWN:
            raise NotFound(f"nobody called {name!r} here")
        return {"greeting": f"hello, {name}"}

    def shout(self, text: str) -> dict[str, str]:
        if not text.strip():
            raise Invalid("there is nothing to shout", param="text")
        return {"text": text.upper()}

    async def checked(self, word: str) -> dict[str, Any]:
        """Says `word` through the real router; the toy's checker trusts only deep's answers,
        so swift's first answer is rejected and the ladder hands the request to deep."""

        async def attempt(rung: Rung) -> Tried[str]:
            model = "swift" if rung.model == "auto" else rung.model  # the toy starts on swift
            params = SamplingParams(max_tokens=4)
            request = CoreRequest(
                prompt=f"Say {word}.", params=params, request_id=f"toy-{rung.step}"
            )
            answer = await collect_events(self.router.stream(RouteRequest(request, model=model)))
            core = answer.decision.core if answer.decision else model
            verdict = Verdict(core == "deep", () if core == "deep" else ("the toy trusts deep",))
            return Tried(answer.text, verdict, core, answer.text, 1, 0, answer.completion_tokens)

        result = await escalate(attempt, Ladder(("first", "other")))
        return {"text": result.answer, "twincore": result.as_dict()}
