"""Drafting a SAR narrative with a core, checked: the SAR prompt | the router's chat model, on
the router's escalation ladder with the number/section check (`check.py`) as the verifier.

`draft_sar` climbs the ladder the routing policy gives `aml` (first, repair, other by default):
the first draft as asked; a `repair` turn shows the core its draft and every flagged number,
missing section and ordering fault; `other` writes afresh on the deep core (only when the
caller asked for `auto`). The narrative that stands is the first one the check accepts, else
the last one (or an earlier one with strictly more partial credit) with its failed check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.router.escalation import (
    Escalation,
    Ladder,
    Rung,
    Tried,
    Verdict,
    escalate,
    repair_messages,
)
from twincore.platform.router.router import RouterClient
from twincore.services.aml.narrative.check import check_narrative
from twincore.services.aml.narrative.facts import facts_text
from twincore.services.aml.prompts import SAR_PROMPT, SECTIONS

SERVICE = "aml"


@dataclass(frozen=True)
class NarrativeDraft:
    """A core's narrative and its number/section check."""

    text: str
    check: dict[str, Any]


def narrative_verdict(check: dict[str, Any], *, cut_off: bool = False) -> Verdict:
    """The escalation verdict of a narrative check: every flagged number or date, missing
    section and ordering fault as one reason; a draft cut off at the token limit fails too (a
    looping draft ends there). Partial credit: the mean of the share of sections present, the
    share of numbers and dates supported, and the time order."""
    reasons = list(check["mismatches"])
    if check["missing_sections"]:
        missing = ", ".join(f"{s}:" for s in check["missing_sections"])
        reasons.append(f"sections missing or empty: {missing}")
    if not check["dates_in_order"]:
        reasons.append("the dates in WHEN and HOW are not in time order, earliest first")
    if cut_off:
        reasons.append("the narrative was cut off at the length limit; write it shorter")
    claims = len(check["numbers"]) + len(check["dates"])
    supported = 1.0 - min(len(check["mismatches"]), claims) / claims if claims else 1.0
    sections = 1.0 - len(check["missing_sections"]) / len(SECTIONS)
    score = (sections + supported + float(check["dates_in_order"])) / 3
    return Verdict(not reasons, tuple(reasons), round(score, 4))


def _messages(facts: dict[str, Any], rung: Rung) -> list[BaseMessage]:
    messages = list(SAR_PROMPT.format_messages(case_id=facts["case_id"], facts=facts_text(facts)))
    for turn in repair_messages(rung):
        content = turn["content"]
        messages.append(
            AIMessage(content) if turn["role"] == "assistant" else HumanMessage(content)
        )
    return messages


DraftEvent = dict[str, Any]
"""`attempt_start` (step, model), `token` (text) and `attempt` (step, core, passed, reasons)."""


async def draft_sar(
    router: RouterClient,
    facts: dict[str, Any],
    *,
    model: str,
    max_tokens: int,
    ladder: Ladder | None = None,
    on_event: Callable[[DraftEvent], None] | None = None,
) -> Escalation[NarrativeDraft]:
    """The narrative a core (`deep`, `swift` or `auto`) writes from the fact sheet only,
    checked and escalated; `.as_dict()` is the result's `twincore` block. `on_event` sees each
    attempt start, its text as it is written and its verdict (for a streaming screen)."""
    chat = TwincoreChatModel.for_service(router, SERVICE, max_tokens=max_tokens, temperature=0.0)
    tell = on_event or (lambda _event: None)

    async def attempt(rung: Rung) -> Tried[NarrativeDraft]:
        tell({"event": "attempt_start", "step": rung.step, "model": rung.model})
        text, meta, usage = "", cast(dict[str, Any], {}), None
        async for chunk in chat.astream(_messages(facts, rung), model=rung.model):
            if chunk.text:
                text += chunk.text
                tell({"event": "token", "text": chunk.text})
            if chunk.response_metadata:
                meta = chunk.response_metadata
            usage = chunk.usage_metadata or usage
        text = text.strip()
        check = check_narrative(text, facts)
        cut_off = meta.get("finish_reason") == "length"
        verdict = narrative_verdict(check, cut_off=cut_off)
        core = meta.get("core") or rung.model
        tell(
            {
                "event": "attempt",
                "step": rung.step,
                "core": core,
                "passed": verdict.passed,
                "reasons": list(verdict.reasons),
            }
        )
        return Tried(
            NarrativeDraft(text, check),
            verdict,
            core=core,
            text=text,
            prompt_tokens=usage["input_tokens"] if usage else 0,
            completion_tokens=usage["output_tokens"] if usage else 0,
            decision=meta.get("decision"),
        )

    return await escalate(attempt, ladder, model=model)
