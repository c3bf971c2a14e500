"""Function tools as plain chat text, so any chat template can carry them: the tool list in the
system message in Qwen2.5's trained format, and agent-loop turns (assistant tool calls, tool
results) rendered as the text that format gives them.

Qwen2.5 was trained on exactly this layout (its chat template writes it); SmolLM2's template knows
no tool role, so rendering the turns ourselves is what makes one design work for every core.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""OpenAI's rule for function names; it also keeps names safe inside the grammar."""
DEFAULT_SYSTEM = "You are a helpful assistant."
NO_PARAMETERS: Mapping[str, Any] = {"type": "object", "properties": {}}

ChoiceMode = Literal["auto", "none", "required", "function"]


@dataclass(frozen=True)
class Tool:
    """One function the model may call: its name, what it does, and its arguments' JSON schema."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: dict(NO_PARAMETERS))

    @classmethod
    def from_openai(cls, raw: Mapping[str, Any]) -> Tool:
        """A tool from OpenAI's `{"type": "function", "function": {...}}`; ValueError names
        what is wrong."""
        if raw.get("type", "function") != "function":
            raise ValueError(f"tool type must be 'function', got {raw.get('type')!r}")
        function = raw.get("function")
        if not isinstance(function, Mapping):
            raise ValueError("a tool needs a 'function' object with a name")
        name = function.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(f"tool name must be 1-64 letters, digits, '_' or '-', got {name!r}")
        parameters = function.get("parameters")
        if parameters is None:
            parameters = dict(NO_PARAMETERS)
        if not isinstance(parameters, Mapping):
            raise ValueError(f"tool {name}: parameters must be a JSON schema object")
        description = function.get("description") or ""
        if not isinstance(description, str):
            raise ValueError(f"tool {name}: description must be a string")
        return cls(name, description, dict(parameters))

    def openai(self) -> dict[str, Any]:
        """OpenAI's shape, which is also the line Qwen2.5 reads inside <tools></tools>."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = dict(self.parameters)
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class ToolChoice:
    """Whether the model must call a tool: "auto" (text or calls), "none" (text, tools not
    shown), "required" (one or more calls) or "function" (a call of `name`)."""

    mode: ChoiceMode = "auto"
    name: str | None = None

    @classmethod
    def from_openai(cls, raw: object) -> ToolChoice:
        """OpenAI's tool_choice: a mode string or {"type": "function", "function": {"name"}}."""
        if raw is None:
            return cls()
        if raw in ("auto", "none", "required"):
            return cls(raw)
        if isinstance(raw, Mapping) and raw.get("type") == "function":
            function = raw.get("function")
            name = function.get("name") if isinstance(function, Mapping) else None
            if isinstance(name, str) and name:
                return cls("function", name)
        raise ValueError(
            "tool_choice must be 'auto', 'none', 'required' or "
            f'{{"type": "function", "function": {{"name": ...}}}}, got {raw!r}'
        )

    def openai(self) -> str | dict[str, Any]:
        if self.mode == "function":
            return {"type": "function", "function": {"name": self.name}}
        return self.mode


def tools_system_prompt(tools: Sequence[Tool], system: str | None = None) -> str:
    """The system message that shows `tools`, after the caller's own system text."""
    listed = "\n".join(json.dumps(tool.openai(), ensure_ascii=False) for tool in tools)
    return (
        f"{system or DEFAULT_SYSTEM}\n\n# Tools\n\n"
        "You may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{listed}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        f"{TOOL_CALL_OPEN}{TOOL_CALL_CLOSE} XML tags:\n"
        f'{TOOL_CALL_OPEN}\n{{"name": <function-name>, "arguments": <args-json-object>}}\n'
        f"{TOOL_CALL_CLOSE}"
    )


def call_block(name: str, arguments: object) -> str:
    """One call as the model writes it."""
    body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}"


def render_turns(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Tool] = ()
) -> list[dict[str, str]]:
    """OpenAI-shaped messages as {"role", "content"} text turns any chat template takes.

    'developer' becomes 'system'; an assistant turn's `tool_calls` become <tool_call> blocks
    after its text; consecutive 'tool' messages become one user turn of <tool_response> blocks.
    With `tools`, the first system turn (one is added when there is none) lists them.
    """
    turns: list[dict[str, str]] = []
    after_tool = False  # the last turn holds tool responses, so the next one joins it
    for message in messages:
        role = str(message.get("role", ""))
        text = message_text(message.get("content"))
        if role == "tool":
            response = f"<tool_response>\n{text}\n</tool_response>"
            if after_tool:
                turns[-1]["content"] += "\n" + response
            else:
                turns.append({"role": "user", "content": response})
            after_tool = True
            continue
        after_tool = False
        if role == "assistant" and message.get("tool_calls"):
            blocks = [_rendered_call(call) for call in message["tool_calls"]]
            text = "\n".join(([text] if text else []) + blocks)
        turns.append({"role": "system" if role == "developer" else role, "content": text})
    if tools:
        if turns and turns[0]["role"] == "system":
            turns[0]["content"] = tools_system_prompt(tools, turns[0]["content"])
        else:
            turns.insert(0, {"role": "system", "content": tools_system_prompt(tools)})
    return turns


def message_text(content: object) -> str:
    """A message's content as text: a string, a list of text parts, or None."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part)
            for part in content
        )
    return str(content)


def _rendered_call(call: Mapping[str, Any]) -> str:
    function = call.get("function") or {}
    raw = function.get("arguments", "{}")
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        arguments = raw  # shown as the model (or client) wrote it
    return call_block(str(function.get("name", "")), arguments)
