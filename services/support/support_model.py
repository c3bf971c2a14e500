"""The chat model support writes Cypher and extracts knowledge with: the router, asked as
the support service (so `auto` is routed as real-time support dialogue, swift by default)."""

from __future__ import annotations

from typing import Any

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.router.router import RouterClient
from twincore.services.codegen.llm import ServiceRouter

SERVICE = "support"


def support_chat_model(router: RouterClient, **fields: Any) -> TwincoreChatModel:
    """A `TwincoreChatModel` whose requests the router sees as support (domain hint set)."""
    return TwincoreChatModel.over_router(
        ServiceRouter(router, SERVICE, {"domain": "support"}), **fields
    )
