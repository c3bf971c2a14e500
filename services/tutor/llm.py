"""The chat model the tutor asks: LangChain's view of the router, marked as math tutoring.

Requests carry `service="tutor"` and the `domain: math` hint, so an `auto` request is routed
and budgeted (max tokens, candidates) as math by the router's policy.
"""

from __future__ import annotations

from typing import Any

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.router.router import RouterClient
from twincore.services.codegen.llm import ServiceRouter

SERVICE = "tutor"


def tutor_chat_model(router: RouterClient, **fields: Any) -> TwincoreChatModel:
    """A `TwincoreChatModel` whose requests the router sees as math from the tutor."""
    marked = ServiceRouter(router, SERVICE, {"domain": "math"})
    return TwincoreChatModel.over_router(marked, **fields)
