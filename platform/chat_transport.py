"""How `TwincoreChatModel` reaches the router: in-process (or over a Ray handle), or over HTTP.

Both transports stream the same events: text deltas of the first candidate (and, with tools, each
tool call whole as it closes), then one `ChatEnd` with the finish reason, the token usage and the
router's decision. Tools and constraints are prepared by platform/structured/ on the router side
(RouterTransport here, the gateway behind HttpTransport), so both behave alike. Every failure
the caller can act on arrives as a `TwincoreError` carrying the HTTP status the gateway would
answer with.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.backends.openai import error_message, message_of, usage_from_openai
from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.repetition import RepetitionGuard
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Usage
from twincore.platform.errors import TwincoreError as TwincoreError  # re-exported
from twincore.platform.gateway.responses import FINISH_REASONS
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import Decision, RouteError, RouteRequest
from twincore.platform.structured import (
    PreparedChat,
    Tool,
    ToolCall,
    ToolCallStream,
    ToolChoice,
    constraint_problem,
    prepare_chat,
)


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion as the chat model hands it to a transport."""

    model: str
    messages: Sequence[Mapping[str, Any]]
    """OpenAI-shaped turns: {"role", "content"}, an assistant's `tool_calls`, 'tool' turns."""
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
    constraint: Constraint | None = None
    """The language the answer must belong to (model_core/engine/constraint.py)."""
    tools: tuple[Tool, ...] = ()
    """Functions the model may call; its calls come back as `ToolCallDone` events."""
    tool_choice: ToolChoice | None = None
    """None: "auto" (text or calls)."""
    parallel_tool_calls: bool = True


@dataclass(frozen=True)
class TextDelta:
    """New text of candidate 0."""

    text: str


@dataclass(frozen=True)
class ToolCallDone:
    """A whole tool call of candidate 0; `index` counts the answer's calls from 0."""

    call: ToolCall
    index: int


@dataclass(frozen=True)
class ChatEnd:
    """The last event of a stream: how it ended and who served it."""

    core: str
    finish_reason: str
    usage: Usage | None
    decision: dict[str, Any]


ChatEvent = TextDelta | ToolCallDone | ChatEnd


@runtime_checkable
class ChatTransport(Protocol):
    """Streams one request's events: `TextDelta`s and `ToolCallDone`s, then one `ChatEnd`, or
    raises TwincoreError."""

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
        prepared = _prepared(request)
        params = SamplingParams(
            max_tokens=request.max_tokens or self.default_max_tokens,
            temperature=request.temperature,
            top_p=1.0 if request.top_p is None else request.top_p,
            seed=request.seed,
            stop=request.stop,
            repetition_guard=RepetitionGuard() if request.repetition_guard else None,
            constraint=prepared.constraint,
        )
        try:
            params.validate()
        except ValueError as error:
            raise TwincoreError(400, str(error)) from error
        core_request = CoreRequest(
            messages=prepared.messages, params=params, request_id=request.request_id
        )
        route = RouteRequest(
            core_request, request.model, service=request.service, hints=dict(request.hints)
        )
        events = self.router.stream(route)
        calls = ToolCallStream() if prepared.tool_calls else None
        sent_calls = 0
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
                if calls is None:
                    if event.text:
                        yield TextDelta(event.text)
                else:
                    pieces = calls.feed(event.text)
                    for piece in pieces + (calls.close() if event.finish_reason else []):
                        if isinstance(piece, str):
                            yield TextDelta(piece)
                        else:
                            yield ToolCallDone(piece, sent_calls)
                            sent_calls += 1
                if event.finish_reason is not None:
                    finish_reason = FINISH_REASONS.get(event.finish_reason, "stop")
        finally:
            await close_stream(events)
        if decision is None:
            raise TwincoreError(500, "the router answered without a decision")
        if calls is not None and calls.calls and finish_reason == "stop":
            finish_reason = "tool_calls"
        yield ChatEnd(decision.core, finish_reason, usage, decision.as_dict())


def _prepared(request: ChatRequest) -> PreparedChat:
    """The request's turns and constraint with its tools applied; a 400 when they clash or a
    schema cannot be compiled."""
    try:
        prepared = prepare_chat(
            request.messages,
            tools=request.tools,
            tool_choice=request.tool_choice,
            parallel=request.parallel_tool_calls,
            answer=request.constraint,
        )
    except ValueError as error:
        raise TwincoreError(400, str(error)) from error
    problem = constraint_problem(prepared.constraint)
    if problem:
        raise TwincoreError(400, f"the constraint does not compile: {problem}")
    return prepared


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
    if request.tools:
        body["tools"] = [tool.openai() for tool in request.tools]
        if not request.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    if request.tool_choice is not None:
        body["tool_choice"] = request.tool_choice.openai()
    if request.constraint is not None:
        # The extension carries any kind; a JSON answer beside tools goes as response_format,
        # since the gateway takes the extension only alone.
        body.update(_constraint_fields(request.constraint, tools=bool(request.tools)))
    optional = {
        "max_tokens": request.max_tokens,
        "top_p": request.top_p,
        "stop": list(request.stop) or None,
        "seed": request.seed,
        "metadata": dict(request.hints) or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def _constraint_fields(constraint: Constraint, *, tools: bool) -> dict[str, Any]:
    if not tools:
        fields = {"kind": constraint.kind, "source": constraint.source}
        return {"constraint": fields if constraint.strict else {**fields, "strict": False}}
    if constraint.kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    if constraint.kind == "json_schema":
        schema = json.loads(constraint.source)
        spec = {"name": "answer", "schema": schema, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": spec}}
    raise TwincoreError(400, f"a {constraint.kind} constraint cannot be combined with tools")


async def _parse_stream(response: httpx.Response) -> AsyncIterator[ChatEvent]:
    """Server-sent events of a chat completion stream -> TextDeltas, ToolCallDones and one
    ChatEnd. Tool call deltas are gathered by index (a server may split a call's arguments
    over several deltas) and released when the choice finishes."""
    core = response.headers.get("x-twincore-core", "")
    finish_reason, usage = "stop", None
    decision: dict[str, Any] = {}
    pending: dict[int, dict[str, str]] = {}
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, comments, event names
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            for index in sorted(pending):
                yield ToolCallDone(_call(pending[index]), index)
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
            delta = choice.get("delta") or {}
            if delta.get("content"):
                yield TextDelta(delta["content"])
            for part in delta.get("tool_calls") or ():
                _gather(pending.setdefault(int(part.get("index", 0)), {}), part)
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
                for index in sorted(pending):
                    yield ToolCallDone(_call(pending[index]), index)
                pending.clear()
    raise TwincoreError(502, "the stream ended before its final event")


def _gather(call: dict[str, str], part: dict[str, Any]) -> None:
    """Add one streamed piece of a tool call (OpenAI sends id and name once, arguments in
    pieces)."""
    function = part.get("function") or {}
    for key, value in (("id", part.get("id")), ("name", function.get("name"))):
        if value:
            call[key] = str(value)
    call["arguments"] = call.get("arguments", "") + str(function.get("arguments") or "")


def _call(gathered: dict[str, str]) -> ToolCall:
    arguments = gathered.get("arguments") or "{}"
    if "id" in gathered:
        return ToolCall(gathered.get("name", ""), arguments, gathered["id"])
    return ToolCall(gathered.get("name", ""), arguments)


async def close_stream(events: AsyncIterator[Any]) -> None:
    """Close an async iterator that can be closed (an async generator, a handle's stream)."""
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
