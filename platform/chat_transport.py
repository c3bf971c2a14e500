"""How `TwincoreChatModel` reaches the router: in-process (or over a Ray handle), or over HTTP.

Both transports stream the same events: text deltas of the first candidate, then one `ChatEnd`
with the finish reason, the token usage and the router's decision. Every failure the caller can
act on arrives as a `TwincoreError` carrying the HTTP status the gateway would answer with.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.backends.openai import error_message, message_of, usage_from_openai
from twincore.model_core.engine.repetition import RepetitionGuard
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Usage
from twincore.platform.errors import TwincoreError as TwincoreError  # re-exported
from twincore.platform.gateway.responses import FINISH_REASONS
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import Decision, RouteError, RouteRequest


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion as the chat model hands it to a transport."""

    model: str
    messages: Sequence[Mapping[str, str]]
    max_tokens: int | None = None
    """None: the serving side's default budget."""
    temperature: float = 0.0
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    request_id: str = ""
    service: str | None = None
    """The service asking, when one does: the router fixes the domain label from it."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """Labels the caller knows (`domain`, `interactivity`, `difficulty`); over HTTP they travel
    as the request's `metadata`."""
    repetition_guard: bool = False
    """Ban repeated lines and token loops in the answer (model_core/engine/repetition.py)."""


@dataclass(frozen=True)
class TextDelta:
    """New text of candidate 0."""

    text: str


@dataclass(frozen=True)
class ChatEnd:
    """The last event of a stream: how it ended and who served it."""

    core: str
    finish_reason: str
    usage: Usage | None
    decision: dict[str, Any]


ChatEvent = TextDelta | ChatEnd


@runtime_checkable
class ChatTransport(Protocol):
    """Streams one request's events: `TextDelta`s then one `ChatEnd`, or raises TwincoreError."""

    target: str
    """Where requests go, for logs and the model's identifying parameters."""

    def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]: ...


class RouterTransport:
    """Calls a `RouterClient` directly: a `Router` in this process, or a Ray handle client."""

    target = "router"

    def __init__(self, router: RouterClient, *, default_max_tokens: int = 256) -> None:
        self.router = router
        self.default_max_tokens = default_max_tokens

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        params = SamplingParams(
            max_tokens=request.max_tokens or self.default_max_tokens,
            temperature=request.temperature,
            top_p=1.0 if request.top_p is None else request.top_p,
            seed=request.seed,
            stop=request.stop,
            repetition_guard=RepetitionGuard() if request.repetition_guard else None,
        )
        try:
            params.validate()
        except ValueError as error:
            raise TwincoreError(400, str(error)) from error
        core_request = CoreRequest(
            messages=request.messages, params=params, request_id=request.request_id
        )
        route = RouteRequest(
            core_request, request.model, service=request.service, hints=dict(request.hints)
        )
        events = self.router.stream(route)
        decision: Decision | None = None
        finish_reason, usage = "stop", None
        try:
            async for event in events:
                if isinstance(event, RouteError):
                    raise TwincoreError(event.status, event.message)
                if isinstance(event, Decision):
                    decision = event
                    continue
                if event.error:
                    core = decision.core if decision else "?"
                    raise TwincoreError(502, f"core {core} failed mid-stream: {event.error}")
                usage = event.usage or usage
                if event.index != 0:
                    continue
                if event.text:
                    yield TextDelta(event.text)
                if event.finish_reason is not None:
                    finish_reason = FINISH_REASONS.get(event.finish_reason, "stop")
        finally:
            await close_stream(events)
        if decision is None:
            raise TwincoreError(500, "the router answered without a decision")
        yield ChatEnd(decision.core, finish_reason, usage, decision.as_dict())


class HttpTransport:
    """Streams from a gateway's (or any OpenAI-compatible server's) `/v1/chat/completions`.

    Each request opens its own httpx client: a client's connections belong to the event loop
    they were opened on, and the chat model runs requests on the caller's loop and, for sync
    calls, on a private one.
    """

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 120.0) -> None:
        self.target = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._api_key = api_key
        self._ssl = httpx.create_ssl_context()  # loading CA certificates is slow: once

    def __repr__(self) -> str:  # never the API key
        return f"HttpTransport({self.target!r}, timeout_s={self.timeout_s})"

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        headers = {"x-request-id": request.request_id} if request.request_id else {}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        async with httpx.AsyncClient(
            base_url=self.target + "/", timeout=self.timeout_s, verify=self._ssl
        ) as client:
            try:
                async with client.stream(
                    "POST", "chat/completions", json=_request_body(request), headers=headers
                ) as response:
                    if response.is_error:
                        await response.aread()
                        raise TwincoreError(response.status_code, error_message(response))
                    async for event in _parse_stream(response):
                        yield event
            except httpx.HTTPError as error:
                raise TwincoreError(
                    503, f"{self.target}: {type(error).__name__}: {error}"
                ) from error


def _request_body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [dict(m) for m in request.messages],
        "temperature": request.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.repetition_guard:  # a Twincore extension: sent only when on
        body["repetition_guard"] = True
    optional = {
        "max_tokens": request.max_tokens,
        "top_p": request.top_p,
        "stop": list(request.stop) or None,
        "seed": request.seed,
        "metadata": dict(request.hints) or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


async def _parse_stream(response: httpx.Response) -> AsyncIterator[ChatEvent]:
    """Server-sent events of a chat completion stream -> TextDeltas and one ChatEnd."""
    core = response.headers.get("x-twincore-core", "")
    finish_reason, usage = "stop", None
    decision: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, comments, event names
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            yield ChatEnd(decision.get("core") or core, finish_reason, usage, decision)
            return
        try:
            payload = json.loads(data)
        except ValueError as error:
            raise TwincoreError(502, f"unreadable stream event: {data[:200]!r}") from error
        if "error" in payload:
            raise TwincoreError(502, message_of(payload))
        core = core or str(payload.get("model", ""))
        decision = payload.get("twincore") or decision
        usage = usage_from_openai(payload["usage"]) if payload.get("usage") else usage
        for choice in payload.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield TextDelta(text)
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
    raise TwincoreError(502, "the stream ended before its final event")


async def close_stream(events: AsyncIterator[Any]) -> None:
    """Close an async iterator that can be closed (an async generator, a handle's stream)."""
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
