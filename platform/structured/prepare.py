"""One chat request's structured side, decided once for every transport: the turns the core
reads, the constraint it decodes under, and whether its answer holds tool calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import llguidance

from twincore.model_core.engine.constraint import Constraint
from twincore.platform.structured.grammar import tool_grammar
from twincore.platform.structured.tools import Tool, ToolChoice, render_turns

MAX_PROBLEM_CHARS = 600
GrammarFormat = Literal["json_schema", "regex", "lark"]
LLGUIDANCE_FORMATS: dict[str, GrammarFormat] = {
    "json_schema": "json_schema",
    "json_object": "json_schema",
    "regex": "regex",
    "lark": "lark",
}
"""llguidance's name of each constraint kind's format (json_object is the schema of any object)."""
TOOL_KINDS = ("json_schema", "json_object")
"""Answer constraints that can sit beside tools (as the text alternative of the grammar)."""


@dataclass(frozen=True)
class PreparedChat:
    """What the core is asked: text turns, the language of the answer, and how to read it."""

    messages: list[dict[str, str]]
    constraint: Constraint | None
    tool_calls: bool
    """The answer may hold <tool_call> blocks to return as tool calls."""


def prepare_chat(
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Tool] = (),
    tool_choice: ToolChoice | None = None,
    parallel: bool = True,
    answer: Constraint | None = None,
) -> PreparedChat:
    """The request for OpenAI-shaped `messages` with these tools and answer constraint;
    ValueError says what does not fit together."""
    choice = tool_choice or ToolChoice()
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise ValueError("tool names must be unique")
    if choice.mode in ("required", "function") and not tools:
        raise ValueError(f"tool_choice {choice.openai()!r} needs tools")
    if choice.mode == "function" and choice.name not in names:
        raise ValueError(f"tool_choice names {choice.name!r}, which is not among the tools")
    if not tools or choice.mode == "none":
        return PreparedChat(render_turns(messages), answer, False)
    if answer is not None and answer.kind not in TOOL_KINDS:
        raise ValueError(f"a {answer.kind} constraint cannot be combined with tools")
    callable_ = [t for t in tools if t.name == choice.name] if choice.mode == "function" else tools
    grammar = tool_grammar(
        callable_,
        required=choice.mode != "auto",
        parallel=parallel and choice.mode != "function",
        answer=answer,
    )
    return PreparedChat(render_turns(messages, tools), Constraint("lark", grammar), True)


def constraint_problem(constraint: Constraint | None) -> str | None:
    """Why the engine could not compile `constraint` (llguidance's own words), or None."""
    if constraint is None:
        return None
    problems = constraint.problems()
    if problems:
        return "; ".join(problems)
    source = constraint.source if constraint.kind != "json_object" else '{"type": "object"}'
    try:
        grammar = llguidance.grammar_from(LLGUIDANCE_FORMATS[constraint.kind], source)
        error = llguidance.LLMatcher.validate_grammar(grammar)
    except (ValueError, TypeError) as failure:
        error = str(failure)
    return error[:MAX_PROBLEM_CHARS] or None
