"""The chat model the loop writes code with: LangChain's view of the router, asking as codegen.

Requests carry `service="codegen"` and the `domain: code` hint, so an `auto` request is routed
(and budgeted: max tokens, candidates) as code by the router's policy.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import replace
from typing import Any

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import RouteEvent, RouteRequest

SERVICE = "codegen"


class ServiceRouter:
    """A router client that marks every request as coming from one service."""

    def __init__(self, router: RouterClient, service: str, hints: Mapping[str, str]) -> None:
        self._router, self._service, self._hints = router, service, dict(hints)

    def stream(self, request: RouteRequest) -> AsyncGenerator[RouteEvent, None]:
        marked = replace(request, service=self._service, hints={**self._hints, **request.hints})
        return self._router.stream(marked)

    async def health(self) -> dict[str, Any]:
        return await self._router.health()

    async def models(self) -> dict[str, dict[str, Any]]:
        return await self._router.models()


def codegen_chat_model(router: RouterClient, **fields: Any) -> TwincoreChatModel:
    """A `TwincoreChatModel` whose requests the router sees as code generation."""
    return TwincoreChatModel.over_router(
        ServiceRouter(router, SERVICE, {"domain": "code"}), **fields
    )
