"""Drafting a SAR narrative with a core: the SAR prompt | the router's chat model | a parser."""

from __future__ import annotations

from typing import Any

from langchain_core.output_parsers import StrOutputParser

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.router.router import RouterClient
from twincore.services.aml.narrative.facts import facts_text
from twincore.services.aml.prompts import SAR_PROMPT

SERVICE = "aml"


async def draft_text(
    router: RouterClient, facts: dict[str, Any], *, model: str, max_tokens: int
) -> str:
    """The narrative a core (`deep`, `swift` or `auto`) writes from the fact sheet only."""
    chat = TwincoreChatModel.for_service(
        router, SERVICE, model=model, max_tokens=max_tokens, temperature=0.0
    )
    chain = SAR_PROMPT | chat | StrOutputParser()
    text: str = await chain.ainvoke({"case_id": facts["case_id"], "facts": facts_text(facts)})
    return text.strip()
