"""Greets known names; an unknown one is the platform's NotFound."""

from __future__ import annotations

from typing import Any

from twincore.platform.errors import Invalid, NotFound

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
