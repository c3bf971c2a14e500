"""`TwincoreChatModel`: LangChain's view of the router, so services compose prompts, parsers and
retries with runnables, bind tools and ask for structured outputs.

The model speaks to the router through a `ChatTransport`: in-process (`over_router`, a `Router`
or a Ray handle client) or over a gateway's OpenAI-compatible HTTP API (`over_http`). Every
answer carries the router's decision: `response_metadata["core"]` and `["decision"]`.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from types import TracebackType
from typing import Any, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UsageMetadata,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field

from twincore.model_core.engine.types import Usage
from twincore.platform.chat_transport import (
    ChatEnd,
    ChatEvent,
    ChatRequest,
    ChatTransport,
    HttpTransport,
    RouterTransport,
    TextDelta,
    ToolCallDone,
    TwincoreError,
    close_stream,
)
from twincore.platform.router.router import RouterClient
from twincore.platform.structured.langchain import (
    StructuredMethod,
    ToolLike,
    call_chunk,
    langchain_call,
    openai_calls,
    openai_tool_choice,
    openai_tools,
    request_tools,
    structured_runnable,
)

__all__ = ["TwincoreChatModel", "TwincoreError"]

T = TypeVar("T")

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class TwincoreChatModel(BaseChatModel):
    """Chat completions from the Twincore router: text, tool calls, structured outputs.

    `model`, `max_tokens`, `temperature`, `top_p`, `seed` and `repetition_guard` may be
    overridden per call (`invoke(..., max_tokens=8)` or `.bind(model="deep")`); `stop` given to
    a call replaces the field; `constraint=Constraint(...)` holds one answer to a language.
    `bind_tools` and `with_structured_output` work as with LangChain's OpenAI model: the calls
    are decoded under a grammar (platform/structured/), so they always parse.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = Field("auto", description="'auto' lets the router choose; or 'deep' / 'swift'")
    max_tokens: int | None = Field(None, ge=1, description="None: the serving side's default")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 is greedy")
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: list[str] | None = Field(None, description="strings that end the answer")
    seed: int | None = Field(None, description="seed for reproducible sampling")
    service: str | None = Field(
        None, description="the service asking (e.g. 'codegen'): the router labels it so"
    )
    repetition_guard: bool = Field(
        True,
        description="ban repeated lines and token loops in answers (the engine's repetition "
        "guard); on for services, off in the raw OpenAI API",
    )
    hints: dict[str, str] = Field(
        default_factory=dict,
        description="routing labels the caller knows: domain, interactivity, difficulty",
    )
    transport: ChatTransport = Field(exclude=True, description="where requests go")

    @classmethod
    def over_http(
        cls,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 120.0,
        **fields: Any,
    ) -> TwincoreChatModel:
        """A model that calls a gateway's OpenAI-compatible API at `base_url` (ending in /v1)."""
        return cls(transport=HttpTransport(base_url, api_key, timeout_s), **fields)

    @classmethod
    def over_router(cls, router: RouterClient, **fields: Any) -> TwincoreChatModel:
        """A model that calls a router directly: a `Router` or a Ray handle client."""
        return cls(transport=RouterTransport(router), **fields)

    @classmethod
    def for_service(
        cls,
        router: RouterClient,
        service: str,
        hints: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> TwincoreChatModel:
        """A model over `router` whose requests the router sees as coming from `service`
        (labelled, routed and budgeted as that service), with the routing `hints` it knows."""
        return cls.over_router(router, service=service, hints=dict(hints or {}), **fields)

    @property
    def _llm_type(self) -> str:
        return "twincore"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
            "service": self.service,
            "hints": self.hints,
            "repetition_guard": self.repetition_guard,
            "target": self.transport.target,
        }

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """This model with `tools` offered on every call.

        tool_choice: "auto" (default: text or calls), "none", "required" (or "any"), a tool's
        name (or True with one tool) for exactly one call of it, or OpenAI's dict.
        """
        formatted = openai_tools(tools)
        if tool_choice is not None:
            kwargs["tool_choice"] = openai_tool_choice(tool_choice, formatted)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type,
        *,
        include_raw: bool = False,
        method: StructuredMethod = "json_schema",
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """This model answering as `schema` (a Pydantic model class, a TypedDict, a JSON schema
        dict or an OpenAI tool dict): the parsed object, or with `include_raw` a dict of
        `raw`, `parsed` and `parsing_error`.

        method: "json_schema" (the answer is decoded under the schema), "json_mode" (any JSON
        object) or "function_calling" (one forced call of a tool named after the schema).
        """
        if kwargs:
            raise TypeError(f"with_structured_output got unexpected arguments: {sorted(kwargs)}")
        return structured_runnable(self, schema, method=method, include_raw=include_raw)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "twincore"
        return params

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await _collect(self.transport.stream(self._request(messages, stop, kwargs)))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        events = self.transport.stream(self._request(messages, stop, kwargs))
        with _PrivateLoop() as loop:
            return loop.run(_collect(events))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        events = self.transport.stream(self._request(messages, stop, kwargs))
        try:
            async for event in events:
                chunk = _chunk(event)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        finally:
            await close_stream(events)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        events = self.transport.stream(self._request(messages, stop, kwargs))
        with _PrivateLoop() as loop, closing(loop.iterate(events)) as synced:
            for event in synced:
                chunk = _chunk(event)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> ChatRequest:
        """The transport's request: the fields, with this call's overrides and stop strings."""
        stops = self.stop if stop is None else stop
        tools, tool_choice, parallel = request_tools(kwargs)
        request = ChatRequest(
            model=kwargs.pop("model", self.model),
            messages=to_chat_messages(messages),
            max_tokens=kwargs.pop("max_tokens", self.max_tokens),
            temperature=kwargs.pop("temperature", self.temperature),
            top_p=kwargs.pop("top_p", self.top_p),
            stop=tuple(stops or ()),
            seed=kwargs.pop("seed", self.seed),
            request_id=f"lc-{uuid.uuid4().hex}",
            service=self.service,
            hints=self.hints,
            repetition_guard=kwargs.pop("repetition_guard", self.repetition_guard),
            constraint=kwargs.pop("constraint", None),
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=parallel,
        )
        kwargs.pop("stream", None)  # LangChain's own switch, already acted on
        if kwargs:
            raise TypeError(f"TwincoreChatModel got unexpected arguments: {sorted(kwargs)}")
        return request


def from_chat_messages(turns: list[dict[str, str]]) -> list[BaseMessage]:
    """Chat turns ({"role", "content"}, e.g. `escalation.repair_messages`) as LangChain
    messages: the assistant's as AIMessage, every other as HumanMessage."""
    return [
        AIMessage(content=t["content"]) if t["role"] == "assistant" else HumanMessage(t["content"])
        for t in turns
    ]


def to_chat_messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as OpenAI-shaped chat turns: {"role", "content"}, an AI message's
    `tool_calls`, a ToolMessage as a 'tool' turn; images are refused."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        turn: dict[str, Any] = {"content": _text(message)}
        if isinstance(message, SystemMessage):
            turn["role"] = "system"
        elif isinstance(message, HumanMessage):
            turn["role"] = "user"
        elif isinstance(message, AIMessage):
            turn["role"] = "assistant"
            if message.tool_calls or message.invalid_tool_calls:
                turn["tool_calls"] = openai_calls(message)
        elif isinstance(message, ToolMessage):
            turn.update(role="tool", tool_call_id=message.tool_call_id)
        elif isinstance(message, ChatMessage) and message.role in ROLES:
            turn["role"] = ROLES[message.role]
        else:
            raise ValueError(
                f"TwincoreChatModel does not support {type(message).__name__} "
                f"(type {message.type!r}): only system, human, AI and tool messages"
            )
        turns.append(turn)
    return turns


def _text(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = []
    for part in message.content:
        if isinstance(part, str):
            parts.append(part)
        elif part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        else:
            raise ValueError(f"TwincoreChatModel takes text only, got a {part.get('type')!r} part")
    return "".join(parts)


async def _collect(events: AsyncIterator[ChatEvent]) -> ChatResult:
    """A whole answer from a transport's events."""
    texts: list[str] = []
    calls: list[ToolCall | InvalidToolCall] = []
    end: ChatEnd | None = None
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                texts.append(event.text)
            elif isinstance(event, ToolCallDone):
                calls.append(langchain_call(event.call))
            else:
                end = event
    finally:
        await close_stream(events)
    if end is None:
        raise TwincoreError(502, "the answer ended without its final event")
    message = AIMessage(
        content="".join(texts),
        tool_calls=[call for call in calls if call.get("type") == "tool_call"],
        invalid_tool_calls=[call for call in calls if call.get("type") == "invalid_tool_call"],
        response_metadata=_metadata(end),
        usage_metadata=_usage_metadata(end.usage),
    )
    return ChatResult(generations=[ChatGeneration(message=message)])


def _chunk(event: ChatEvent) -> ChatGenerationChunk:
    if isinstance(event, TextDelta):
        return ChatGenerationChunk(message=AIMessageChunk(content=event.text))
    if isinstance(event, ToolCallDone):
        return ChatGenerationChunk(message=call_chunk(event.call, event.index))
    # Marked last, so LangChain does not append an empty chunk after the one with the metadata.
    message = AIMessageChunk(
        content="",
        response_metadata=_metadata(event),
        usage_metadata=_usage_metadata(event.usage),
        chunk_position="last",
    )
    return ChatGenerationChunk(message=message)


def _metadata(end: ChatEnd) -> dict[str, Any]:
    return {
        "model_name": end.core,
        "core": end.core,
        "decision": end.decision,
        "finish_reason": end.finish_reason,
    }


def _usage_metadata(usage: Usage | None) -> UsageMetadata | None:
    if usage is None:
        return None
    return UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.prompt_tokens + usage.completion_tokens,
        input_token_details={"cache_read": usage.cached_prompt_tokens},
    )


class _PrivateLoop:
    """An event loop on its own thread for one sync call.

    Sync calls then work the same whether or not the calling thread already runs a loop (a
    notebook, an async web handler calling sync code): the transport never touches the
    caller's loop, and nothing calls `asyncio.run` inside a running one. The calling thread
    still waits for the answer, so a coroutine should prefer `ainvoke`/`astream`: a sync call
    from the loop that serves the gateway itself would wait forever.
    """

    def __enter__(self) -> _PrivateLoop:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="twincore-chat-model", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the private loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # the caller was interrupted: stop the work too
            raise

    def iterate(self, events: AsyncIterator[T]) -> Generator[T, None, None]:
        """Step through `events` on the private loop; closing this closes them there."""
        try:
            while (event := self.run(_next(events))) is not None:
                yield event
        finally:
            self.run(close_stream(events))


async def _next(events: AsyncIterator[T]) -> T | None:
    try:
        return await anext(events)
    except StopAsyncIteration:
        return None
