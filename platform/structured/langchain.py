"""LangChain's side of tools and structured outputs: tool specs and choices in OpenAI's shape,
and the runnables `TwincoreChatModel.with_structured_output` returns."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, TypeGuard

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from pydantic import BaseModel

from twincore.model_core.engine.constraint import Constraint
from twincore.platform.structured.parse import ToolCall as CallMade
from twincore.platform.structured.parse import new_call_id
from twincore.platform.structured.tools import Tool, ToolChoice

ToolLike = Mapping[str, Any] | type | Callable[..., Any] | BaseTool
StructuredMethod = Literal["json_schema", "json_mode", "function_calling"]


def openai_tools(tools: Sequence[ToolLike]) -> list[dict[str, Any]]:
    """LangChain tools (BaseTool, functions, Pydantic models, dicts) in OpenAI's shape, checked."""
    formatted = [convert_to_openai_tool(tool) for tool in tools]
    for raw in formatted:
        Tool.from_openai(raw)  # a bad name or schema fails here, not at the first call
    return formatted


def openai_tool_choice(
    choice: str | bool | Mapping[str, Any], tools: Sequence[Mapping[str, Any]]
) -> str | dict[str, Any]:
    """LangChain's tool_choice conventions ("any", True, a bare name) as OpenAI's."""
    names = [tool["function"]["name"] for tool in tools]
    if choice is True:
        if len(names) != 1:
            raise ValueError("tool_choice=True needs exactly one tool")
        choice = names[0]
    if choice == "any":
        return "required"
    if isinstance(choice, str) and choice not in ("auto", "none", "required"):
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, Mapping):
        return dict(choice)
    if isinstance(choice, str):
        return choice
    raise ValueError(f"tool_choice {choice!r} is not a tool name, mode or dict")


def request_tools(kwargs: dict[str, Any]) -> tuple[tuple[Tool, ...], ToolChoice | None, bool]:
    """Pop the tool fields `bind_tools` bound (OpenAI-shaped) from a call's kwargs."""
    tools = tuple(Tool.from_openai(raw) for raw in kwargs.pop("tools", None) or ())
    raw_choice = kwargs.pop("tool_choice", None)
    choice = None if raw_choice is None else ToolChoice.from_openai(raw_choice)
    parallel = kwargs.pop("parallel_tool_calls", None)
    return tools, choice, True if parallel is None else bool(parallel)


def openai_calls(message: AIMessage) -> list[dict[str, Any]]:
    """An AIMessage's tool calls (valid and not) in OpenAI's shape, for the next turn."""
    calls = [
        (call.get("id"), call["name"], json.dumps(call["args"], ensure_ascii=False))
        for call in message.tool_calls
    ]
    calls += [
        (call.get("id"), call.get("name") or "", call.get("args") or "")
        for call in message.invalid_tool_calls
    ]
    return [
        {
            "id": call_id or new_call_id(),
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        for call_id, name, arguments in calls
    ]


def langchain_call(call: CallMade) -> ToolCall | InvalidToolCall:
    try:
        args = json.loads(call.arguments)
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return invalid_tool_call(
            name=call.name, args=call.arguments, id=call.id, error="arguments are not an object"
        )
    return tool_call(name=call.name, args=args, id=call.id)


def call_chunk(call: CallMade, index: int) -> AIMessageChunk:
    chunk = tool_call_chunk(name=call.name, args=call.arguments, id=call.id, index=index)
    return AIMessageChunk(content="", tool_call_chunks=[chunk])


def structured_runnable(
    model: Any,
    schema: Mapping[str, Any] | type,
    *,
    method: StructuredMethod,
    include_raw: bool,
) -> Runnable[LanguageModelInput, Any]:
    """`model` bound to answer as `schema` (a Pydantic model, a TypedDict, a JSON schema or an
    OpenAI tool dict), piped into the parser that returns it."""
    llm: Runnable[LanguageModelInput, Any]
    parser: Runnable[Any, Any]
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools([schema], tool_choice=name, parallel_tool_calls=False)
        parser = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if _is_pydantic(schema)
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
    elif method in ("json_schema", "json_mode"):
        llm = model.bind(constraint=answer_constraint(schema, json_mode=method == "json_mode"))
        parser = (
            PydanticOutputParser(pydantic_object=schema)
            if _is_pydantic(schema)
            else JsonOutputParser()
        )
    else:
        raise ValueError(
            f"method must be 'json_schema', 'json_mode' or 'function_calling', got {method!r}"
        )
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    unparsed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([unparsed], exception_key="parsing_error")


def answer_constraint(schema: Mapping[str, Any] | type, *, json_mode: bool = False) -> Constraint:
    """The constraint of an answer shaped as `schema` (any JSON object in JSON mode)."""
    if json_mode:
        return Constraint("json_object")
    if _is_pydantic(schema):
        return Constraint.json_schema(schema.model_json_schema())
    return Constraint.json_schema(
        convert_to_json_schema(dict(schema) if isinstance(schema, Mapping) else schema)
    )


def _is_pydantic(schema: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(schema, type) and issubclass(schema, BaseModel)
