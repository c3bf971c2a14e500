"""The Lark grammar (llguidance's dialect) that holds a tool-using answer to its form: calls of
the offered functions with arguments that match their schemas, or an answer with no call.

Each call is `<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`, its JSON embedded
with `%json`, so a call can only name an offered function and its arguments always validate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from twincore.model_core.engine.constraint import Constraint
from twincore.platform.structured.tools import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, Tool

CALL_JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
"""Calls are written as Qwen2.5 was trained to write them (json.dumps' separators); fixed
whitespace also stops a small model from padding a call with endless newlines."""
MAX_PARALLEL_CALLS = 5
"""Calls one answer may hold: enough for real fan-out, and a small model that repeats a call
stops there instead of filling its budget with copies."""
FREE_TEXT = r"/[^<{\s](.|\n)*/ & ~/(.|\n)*<tool_call>(.|\n)*/"
"""Text that is not a call: it never opens a <tool_call> block, and it starts with neither `<`
nor `{` (nor blank space before them), so an answer that starts like a call, tagged or bare,
is held to an offered call's schema (llguidance's lexer does not back out of a long text
lexeme into the JSON of a call, so the two must differ from the first byte)."""


def call_schema(tool: Tool) -> dict[str, Any]:
    """The JSON schema of one call of `tool`: its name, then arguments matching its schema.

    Arguments take only the parameters the function declares unless its schema says otherwise
    (`additionalProperties`): a small model otherwise invents keyword arguments the Python
    function behind the tool would refuse.
    """
    arguments = dict(_rebased(tool.parameters, "#/properties/arguments"))
    if "properties" in arguments:
        arguments.setdefault("additionalProperties", False)
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": arguments},
        "required": ["name", "arguments"],
        "additionalProperties": False,
        "x-guidance": CALL_JSON_STYLE,
    }


def tool_grammar(
    tools: Sequence[Tool], *, required: bool, parallel: bool, answer: Constraint | None = None
) -> str:
    """The grammar of an answer that calls `tools`.

    required: one call (up to MAX_PARALLEL_CALLS when `parallel`), no text; otherwise either
    calls or text — free text, or the `answer` constraint's JSON (a response_format).
    """
    if not tools:
        raise ValueError("a tool grammar needs at least one tool")
    open_, close = json.dumps(TOOL_CALL_OPEN + "\n"), json.dumps("\n" + TOOL_CALL_CLOSE)
    rules = [
        # Unrequired, a call may also come bare (no tags): Qwen2.5-Coder-0.5B writes calls that
        # way in `auto`; the grammar then holds the bare object to an offered call's schema.
        "start: calls" if required else "start: calls | function | answer",
        f'calls: call ("\\n" call){{0,{MAX_PARALLEL_CALLS - 1}}}' if parallel else "calls: call",
        f"call: {open_} function {close}",
        "function: " + " | ".join(f"f{i}" for i in range(len(tools))),
    ]
    rules += [f"f{i}: %json {json.dumps(call_schema(t))}" for i, t in enumerate(tools)]
    if not required:
        rules.append(_answer_rule(answer))
    return "\n".join(rules) + "\n"


def _answer_rule(answer: Constraint | None) -> str:
    if answer is None:
        return f"answer: TEXT\nTEXT: {FREE_TEXT}"
    if answer.kind == "json_object":
        return 'answer: %json {"type": "object"}'
    if answer.kind == "json_schema":
        return f"answer: %json {answer.source}"
    raise ValueError(f"a {answer.kind} constraint cannot be combined with tools")


def _rebased(schema: Any, root: str) -> Any:
    """`schema` with its local $refs ("#/...") pointing into it again once it sits at `root`."""
    if isinstance(schema, Mapping):
        return {
            key: root + value[1:]
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _rebased(value, root)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebased(item, root) for item in schema]
    return schema
