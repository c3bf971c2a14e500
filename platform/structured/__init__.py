"""Structured outputs and function tools for any chat model: OpenAI `tools` / `tool_choice` /
`response_format` turned into a prompt and a `Constraint` the engine enforces, and answers parsed
back into tool calls.

The gateway (`/v1/chat/completions`) and `RouterTransport` (so `TwincoreChatModel.bind_tools`)
both go through `prepare_chat`, so every client sees the same behaviour.
"""

from twincore.platform.structured.parse import ToolCall, ToolCallStream, split_tool_calls
from twincore.platform.structured.prepare import PreparedChat, constraint_problem, prepare_chat
from twincore.platform.structured.tools import Tool, ToolChoice, render_turns, tools_system_prompt

__all__ = [
    "PreparedChat",
    "Tool",
    "ToolCall",
    "ToolCallStream",
    "ToolChoice",
    "constraint_problem",
    "prepare_chat",
    "render_turns",
    "split_tool_calls",
    "tools_system_prompt",
]
