"""A conversation with the router for the screens that chat (playground, console): the request
built from the whole history, the streamed reply, its one-line summary and its request-log row."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from twincore.apps.calls import shown_stream
from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk
from twincore.platform.errors import clean_message
from twincore.platform.gateway.service_tracking import CANCELLED
from twincore.platform.gateway.tracking import RequestRecord, store_record
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import Decision, RouteError, RouteRequest

CHAT_SERVICE = "playground"
"""The request log's `service` for a screen's chat: the console lists it as `playground (ui)`."""


def message_text(content: Any) -> str:
    """A chat message's text, whether a plain string or Gradio's list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text") or "")
    if isinstance(content, Sequence):
        return "".join(message_text(part) for part in content)
    return ""


def conversation(history: Sequence[Mapping[str, Any]], message: str) -> list[dict[str, str]]:
    """The whole conversation as the model reads it: every earlier turn, then `message`."""
    turns = [
        {"role": str(turn["role"]), "content": message_text(turn.get("content"))}
        for turn in history
        if turn.get("role") in ("user", "assistant")
    ]
    return [*[t for t in turns if t["content"]], {"role": "user", "content": message}]


def route_request(
    history: Sequence[Mapping[str, Any]], message: str, model: str, max_tokens: int
) -> RouteRequest:
    """The router's request: `max_tokens` marked as the client's own, so it is a cap the
    routing policy may not raise (a slider at 128 must not become the policy's 192)."""
    return RouteRequest(
        CoreRequest(
            messages=conversation(history, message),
            params=SamplingParams(max_tokens=max_tokens),
            request_id=f"ui-{uuid.uuid4().hex[:12]}",
        ),
        model,
        client_set=frozenset({"max_tokens"}),
    )


@dataclass
class Reply:
    """One answer as it streams: its text, the decision, how it ended and what it cost."""

    max_tokens: int
    text: str = ""
    decision: Decision | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0

    def add(self, chunk: Chunk) -> None:
        self.text += chunk.text if chunk.index == 0 else ""
        self.completion_tokens += len(chunk.token_ids)
        if chunk.usage is not None:
            self.prompt_tokens = chunk.usage.prompt_tokens
            self.completion_tokens = chunk.usage.completion_tokens
        if chunk.finish_reason and chunk.index == 0:
            self.finish_reason = chunk.finish_reason
        self.seconds = time.perf_counter() - self.started

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


def summary_line(reply: Reply) -> str:
    """One line: which core, why, tokens in and out, and the time taken (while the answer
    streams: the tokens so far)."""
    if reply.decision is None:
        return ""
    decision = reply.decision
    if reply.finish_reason is None:
        return f"**{decision.core}** · {decision.reason} · {reply.completion_tokens} tokens so far…"
    tokens = f"{reply.prompt_tokens} in / {reply.completion_tokens} out tokens"
    budget = f"(cap {decision.max_tokens})"
    return f"**{decision.core}** · {decision.reason} · {tokens} {budget} · {reply.seconds:.1f} s"


def truncation_notice(reply: Reply) -> str:
    """What to tell the user when the answer ended on the token limit, else nothing."""
    if not reply.truncated:
        return ""
    return (
        f"⚠️ The answer was cut at the {reply.max_tokens}-token limit: raise **Max tokens** and "
        "ask again for the whole answer."
    )


async def stream_reply(
    router: RouterClient, request: RouteRequest, *, database_url: str, screen: str
) -> AsyncGenerator[Reply, None]:
    """The reply after each event; failures become gr.Error. Every reply, finished, failed or
    stopped, leaves a row in the request log, so the console's decisions list it."""
    reply = Reply(request.core_request.params.max_tokens)
    record = RequestRecord(
        request_id=request.core_request.request_id,
        method="CHAT",
        path=f"/ui/{screen}/chat",
        model=request.model,
        service=CHAT_SERVICE,
        source="ui",
    )
    try:
        # A router replica down or a Ray wrapper arrives as one plain sentence (shown_stream);
        # closing the stream (Stop) closes the router's, which cancels the generation.
        async with aclosing(router.stream(request)) as events:
            async for event in shown_stream(events):
                if isinstance(event, RouteError):
                    _note_decision(record, event.decision)
                    record.status_code, record.error = event.status, event.message
                    raise gr.Error(clean_message(event.message))
                if isinstance(event, Decision):
                    reply.decision = event
                    _note_decision(record, event)
                    continue
                if event.error:
                    record.status_code, record.error = 502, event.error
                    raise gr.Error(f"The core failed: {clean_message(event.error)}")
                reply.add(event)
                yield reply
        record.status_code = 200
    except (asyncio.CancelledError, GeneratorExit):
        record.status_code, record.error = 499, CANCELLED
        raise
    except gr.Error as error:
        record.error = record.error or str(error.message)
        raise
    finally:
        record.prompt_tokens, record.completion_tokens = (
            reply.prompt_tokens,
            reply.completion_tokens,
        )
        record.duration_ms = (time.perf_counter() - reply.started) * 1000
        # Not awaited: a stopped handler cannot wait, and the screen need not.
        asyncio.get_running_loop().run_in_executor(None, store_record, database_url, record)


def _note_decision(record: RequestRecord, decision: Decision | None) -> None:
    if decision is not None:
        record.core, record.decision = decision.core, decision.as_dict()
