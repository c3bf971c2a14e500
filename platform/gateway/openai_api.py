"""The OpenAI-compatible endpoints: chat and text completions (stream or not) and models."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.constraint import Constraint
from twincore.model_core.engine.types import Chunk
from twincore.platform.gateway.deps import ApiError, Caller, GatewayState, State, current_record
from twincore.platform.gateway.ratelimit import retry_after_header
from twincore.platform.gateway.responses import (
    SSE_DONE,
    Collected,
    Kind,
    ResponseBuilder,
    error_body,
    sse,
)
from twincore.platform.gateway.schemas import ChatCompletionRequest, CompletionRequest
from twincore.platform.gateway.tracking import RequestRecord
from twincore.platform.router.types import AUTO, Decision, RouteError, RouteEvent, RouteRequest
from twincore.platform.structured import constraint_problem

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

DISCONNECT_POLL_S = 0.25
ROUTER_RETRY_AFTER_S = 5.0  # Serve restarts a dead router replica within seconds
LATENCY_HEADER = "x-twincore-latency-ms"


@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, state: State, _caller: Caller
) -> Response:
    """Chat completion; `model` is `auto` (the router chooses), `deep` or `swift`.

    `tools` and `response_format` become a prompt and a grammar the engine decodes under
    (platform/structured/); an answer's <tool_call> blocks come back as `tool_calls`."""
    _check_compiles(body)
    route = _route(body, request, state, messages=body.chat_messages())
    tool_calls = body.prepared.tool_calls
    return await _serve(
        state, request, route, "chat", body.stream, body.include_usage, tool_calls=tool_calls
    )


@router.post("/completions")
async def completions(
    body: CompletionRequest, request: Request, state: State, _caller: Caller
) -> Response:
    """Text completion of a raw prompt (no chat template)."""
    problem = constraint_problem(body.constraint.constraint() if body.constraint else None)
    if problem:
        raise ApiError(400, problem, "invalid_request_error", param="constraint")
    route = _route(body, request, state, prompt=body.prompt_text())
    return await _serve(state, request, route, "text", body.stream, body.include_usage)


@router.get("/models")
async def list_models(state: State, _caller: Caller) -> dict[str, Any]:
    """`auto` and each core, with what the core runs."""
    info = state.model_info or await state.router.models()
    if not any("error" in core for core in info.values()):
        state.model_info = info  # what a core runs does not change; a core that is down might
    described = {AUTO: {"description": "the router chooses the core"}, **info}
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "twincore", "twincore": info}
            for name, info in described.items()
        ],
    }


def _check_compiles(body: ChatCompletionRequest) -> None:
    """Refuse (400, llguidance's message) a schema or grammar the engine could not compile."""
    for index, tool in enumerate(body.tools or ()):
        problem = constraint_problem(Constraint.json_schema(dict(tool.tool().parameters)))
        if problem:
            message = f"tool {tool.function.name}: parameters: {problem}"
            param = f"tools.{index}.function.parameters"
            raise ApiError(400, message, "invalid_request_error", param=param)
    problem = constraint_problem(body.prepared.constraint)
    if problem:
        param = "constraint" if body.constraint else "tools" if body.tools else "response_format"
        raise ApiError(400, problem, "invalid_request_error", param=param)


def _route(
    body: ChatCompletionRequest | CompletionRequest,
    request: Request,
    state: GatewayState,
    **text: Any,
) -> RouteRequest:
    """The router's request for a body; `text` is `messages=` or `prompt=`."""
    # The core's id is unique even when clients reuse an X-Request-ID: the engine cancels by id,
    # and one client must never be able to end another's generation.
    core_request = CoreRequest(
        **text,
        params=body.sampling(state.settings.gateway.default_max_tokens),
        request_id=f"{current_record(request).request_id}-{uuid.uuid4().hex[:8]}",
    )
    return RouteRequest(
        core_request,
        body.model,
        latency_target_ms=body.latency_target_ms or _latency_header(request),
        hints=body.metadata or {},
        client_set=body.client_budget(),
    )


def _latency_header(request: Request) -> float | None:
    raw = request.headers.get(LATENCY_HEADER)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        message = f"{LATENCY_HEADER} must be a positive number of milliseconds, got {raw!r}"
        raise ApiError(422, message, "invalid_request_error", param=LATENCY_HEADER)
    return value


async def _serve(
    state: GatewayState,
    request: Request,
    route: RouteRequest,
    kind: Kind,
    stream: bool,
    include_usage: bool,
    *,
    tool_calls: bool = False,
) -> Response:
    record = current_record(request)
    record.model = route.model
    events = state.router.stream(route)
    try:
        first = await anext(events, None)
    except Exception as error:  # the router replica died or cannot be reached
        await events.aclose()
        message = f"the router is unavailable: {type(error).__name__}: {error}"
        retry = {"Retry-After": retry_after_header(ROUTER_RETRY_AFTER_S)}
        raise ApiError(503, message, "service_unavailable", headers=retry) from error
    if isinstance(first, RouteError):
        await events.aclose()
        if first.decision is not None:
            _note_decision(state, record, first.decision, route=route)
        retry = {}
        if first.retry_after_s is not None:
            retry = {"Retry-After": retry_after_header(first.retry_after_s)}
        raise ApiError(first.status, first.message, first.type, headers=retry)
    if not isinstance(first, Decision):
        await events.aclose()
        raise ApiError(500, "the router answered without a decision", "server_error")
    _note_decision(state, record, first, route=route)
    builder = ResponseBuilder(kind, record.request_id, first, tool_calls=tool_calls)
    headers = {"x-twincore-core": first.core}
    if stream:
        body = _stream_body(events, builder, record, include_usage)
        return StreamingResponse(body, media_type="text/event-stream", headers=headers)
    collected = await _collect_unless_disconnected(request, events, record)
    if collected.error is not None:
        raise ApiError(502, f"core {first.core} failed: {collected.error}", "server_error")
    return JSONResponse(builder.complete(collected), headers=headers)


def _note_decision(
    state: GatewayState, record: RequestRecord, decision: Decision, *, route: RouteRequest
) -> None:
    record.core, record.decision = decision.core, decision.as_dict()
    state.metrics.decisions.labels(
        route.model, decision.core, str(decision.fallback_from is not None).lower()
    ).inc()


def _count(record: RequestRecord, chunk: Chunk) -> None:
    if record.first_token_s is None and chunk.text:
        record.first_token_s = time.perf_counter()
    if chunk.usage is not None:
        record.prompt_tokens = chunk.usage.prompt_tokens
        record.completion_tokens = chunk.usage.completion_tokens
    if chunk.error:
        record.error = chunk.error


async def _collect_unless_disconnected(
    request: Request, events: AsyncGenerator[RouteEvent, None], record: RequestRecord
) -> Collected:
    """Gather the whole answer; a client that hangs up cancels the generation."""

    async def collect() -> Collected:
        collected = Collected()
        try:
            async for event in events:
                if isinstance(event, Chunk):
                    _count(record, event)
                    collected.add(event)
        except Exception as error:  # the router's stream broke: a 502, not a 500
            collected.error = f"{type(error).__name__}: {error}"
        finally:
            await events.aclose()
        return collected

    task = asyncio.ensure_future(collect())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                record.error = "client disconnected"
                record.status_code = 499
                task.cancel()
                raise ApiError(499, "client disconnected", "client_closed_request")
    finally:
        if not task.done():
            task.cancel()


async def _stream_body(
    events: AsyncGenerator[RouteEvent, None],
    builder: ResponseBuilder,
    record: RequestRecord,
    include_usage: bool,
) -> AsyncIterator[str]:
    """SSE events; closing this generator (client gone) closes the router stream, which
    cancels the generation in the core."""
    collected = Collected()
    try:
        try:
            async for event in events:
                if not isinstance(event, Chunk):
                    continue
                _count(record, event)
                collected.add(event)
                if event.error:
                    yield sse(error_body(f"core failed mid-stream: {event.error}", "server_error"))
                    break
                events_text = builder.stream_event(event)
                if events_text:  # empty while a tool call is still open
                    yield events_text
            else:
                yield builder.final_event(collected.usage, include_usage=include_usage)
        except Exception as error:  # the router's stream broke: end with an error event
            record.error = f"{type(error).__name__}: {error}"
            yield sse(error_body(f"the stream broke: {record.error}", "server_error"))
        yield SSE_DONE
    finally:
        await events.aclose()
