"""Answers read back as OpenAI tool calls: <tool_call> blocks found whole or as they stream.

A block that is not a call (JSON that does not parse, no name) stays in the text, so nothing the
model wrote is lost when a core ran without the grammar (a remote core, a cut-off answer).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from twincore.platform.structured.tools import TOOL_CALL_CLOSE, TOOL_CALL_OPEN

BLOCK = re.compile(re.escape(TOOL_CALL_OPEN) + r"(.*?)" + re.escape(TOOL_CALL_CLOSE), re.DOTALL)


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class ToolCall:
    """One call the model made; `arguments` is JSON text, as OpenAI sends it."""

    name: str
    arguments: str
    id: str = field(default_factory=new_call_id)

    def openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    def args(self) -> dict[str, Any]:
        """The arguments as an object ({} when they are not one)."""
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def parse_call(body: str) -> ToolCall | None:
    """The call inside one block's body: {"name": ..., "arguments": {...}}; None if it is not."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments", {})
    if isinstance(arguments, str):  # some models write the arguments as JSON text
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(value["name"], json.dumps(arguments, ensure_ascii=False))


BARE_START = re.compile(r'\s*\{\s*"name"\s*:')
BARE_PREFIX = '{"name":'


def bare_call(text: str) -> ToolCall | None:
    """A whole answer that is one call without its tags ({"name": ..., "arguments": {...}} and
    nothing else), as small models write calls when the tags are optional; else None."""
    if not BARE_START.match(text):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != {"name", "arguments"}:
        return None
    return parse_call(text)


def split_tool_calls(text: str) -> tuple[str | None, list[ToolCall]]:
    """The answer's text outside its calls (None when there is none) and its calls in order."""
    calls: list[ToolCall] = []
    kept: list[str] = []
    position = 0
    for match in BLOCK.finditer(text):
        call = parse_call(match.group(1))
        if call is None:
            continue
        kept.append(text[position : match.start()])
        calls.append(call)
        position = match.end()
    if not calls:
        bare = bare_call(text)
        return (None, [bare]) if bare is not None else (text, [])
    kept.append(text[position:])
    return "".join(kept).strip() or None, calls


class ToolCallStream:
    """Splits streamed text into text pieces and whole calls, in order.

    Text that might begin a <tool_call> is held until it is known; a call is released when its
    block closes. Whitespace next to a call (the newline between two calls) is dropped, however
    the text was chunked.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._space = ""  # whitespace held until text (kept) or a call (dropped) follows
        self._after_call = False
        self._emitted = False  # text went out: the answer can no longer be one bare call
        self.calls = 0

    def feed(self, text: str) -> list[str | ToolCall]:
        """What the new text completes: text pieces and calls."""
        self._buffer += text
        out: list[str | ToolCall] = []
        while True:
            start = self._buffer.find(TOOL_CALL_OPEN)
            if start < 0 and self._maybe_bare():
                return out  # held to the end: the whole answer may be one bare call
            if start < 0:
                held = _partial_open(self._buffer)
                self._text(self._buffer[: len(self._buffer) - held], out)
                self._buffer = self._buffer[len(self._buffer) - held :]
                return out
            end = self._buffer.find(TOOL_CALL_CLOSE, start)
            if end < 0:
                self._text(self._buffer[:start], out)
                self._buffer = self._buffer[start:]
                return out
            end += len(TOOL_CALL_CLOSE)
            self._text(self._buffer[:start], out)
            block = self._buffer[start:end]
            self._buffer = self._buffer[end:]
            call = parse_call(block[len(TOOL_CALL_OPEN) : -len(TOOL_CALL_CLOSE)])
            if call is None:
                self._text(block, out)
            else:
                self._space = ""
                self._after_call = True
                self.calls += 1
                out.append(call)

    def close(self) -> list[str | ToolCall]:
        """The held text at the end of the answer (an unclosed block stays text), or the whole
        answer as one call when it was a bare call object."""
        out: list[str | ToolCall] = []
        if not self._emitted and not self.calls:
            bare = bare_call(self._space + self._buffer)
            if bare is not None:
                self._buffer = self._space = ""
                self.calls += 1
                return [bare]
        self._text(self._buffer, out)
        self._buffer = ""
        if not self.calls and self._space:
            out.append(self._space)
        self._space = ""
        return [piece for piece in out if isinstance(piece, str)]

    def _maybe_bare(self) -> bool:
        """Whether everything so far could still be the start of a bare call object."""
        if self._emitted or self.calls:
            return False
        held = re.sub(r"\s+", "", self._space + self._buffer)[: len(BARE_PREFIX)]
        return bool(held) and BARE_PREFIX.startswith(held)

    def _text(self, text: str, out: list[str | ToolCall]) -> None:
        body = text.rstrip()
        if not body:
            self._space += text
            return
        piece = self._space + body
        if self._after_call:  # the whitespace after a call only separated it
            piece = piece.lstrip()
        self._after_call = False
        self._space = text[len(body) :]  # held: a call may come next
        self._emitted = True
        out.append(piece)


def _partial_open(text: str) -> int:
    """How many characters at the end of `text` could be the start of a <tool_call>."""
    for size in range(min(len(text), len(TOOL_CALL_OPEN) - 1), 0, -1):
        if TOOL_CALL_OPEN.startswith(text[-size:]):
            return size
    return 0
