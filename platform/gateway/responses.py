"""OpenAI-shaped response bodies and stream events built from the router's chunks."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from twincore.model_core.engine.types import Chunk, Usage
from twincore.platform.router.types import Decision
from twincore.platform.structured import ToolCall, ToolCallStream, split_tool_calls

Kind = Literal["chat", "text"]

# Engine endings that OpenAI has no name for map to the nearest one it has.
FINISH_REASONS = {"stop": "stop", "length": "length", "deadline": "length", "cancelled": "stop"}


def usage_body(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_prompt_tokens},
    }


def error_body(message: str, type_: str, *, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": None}}


@dataclass
class Collected:
    """Every candidate's text, endings and log-probabilities, plus the request's usage."""

    texts: dict[int, list[str]] = field(default_factory=dict)
    finish: dict[int, str] = field(default_factory=dict)
    logprobs: dict[int, list[float]] = field(default_factory=dict)
    usage: Usage | None = None
    error: str | None = None

    def add(self, chunk: Chunk) -> None:
        self.texts.setdefault(chunk.index, []).append(chunk.text)
        if chunk.logprobs:
            self.logprobs.setdefault(chunk.index, []).extend(chunk.logprobs)
        if chunk.finish_reason is not None:
            self.finish[chunk.index] = FINISH_REASONS.get(chunk.finish_reason, "stop")
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.error:
            self.error = chunk.error


class ResponseBuilder:
    """Builds one request's bodies; ids and timestamps stay the same across its stream.

    With `tool_calls`, each chat answer is read for <tool_call> blocks: they leave the text and
    become OpenAI `tool_calls` (streamed whole, one delta per call, as each block closes).
    """

    def __init__(
        self, kind: Kind, request_id: str, decision: Decision, *, tool_calls: bool = False
    ) -> None:
        self.kind, self.decision = kind, decision
        self.id = f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{request_id}"
        self.created = int(time.time())
        self.tool_calls = tool_calls and kind == "chat"
        self._started: set[int] = set()
        self._calls: dict[int, ToolCallStream] = {}
        self._sent_calls: dict[int, int] = {}

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.decision.core}

    def complete(self, collected: Collected) -> dict[str, Any]:
        choices = []
        for index in sorted(collected.texts):
            text = "".join(collected.texts[index])
            choice: dict[str, Any] = {
                "index": index,
                "finish_reason": collected.finish.get(index, "stop"),
                "logprobs": None,
            }
            if self.kind == "chat":
                choice["message"] = self._message(text)
                if choice["message"].get("tool_calls") and choice["finish_reason"] == "stop":
                    choice["finish_reason"] = "tool_calls"
            else:
                choice["text"] = text
                if index in collected.logprobs:
                    choice["logprobs"] = {"token_logprobs": collected.logprobs[index]}
            choices.append(choice)
        obj = "chat.completion" if self.kind == "chat" else "text_completion"
        return {
            **self._head(obj),
            "choices": choices,
            "usage": usage_body(collected.usage),
            "twincore": self.decision.as_dict(),
        }

    def _message(self, text: str) -> dict[str, Any]:
        if not self.tool_calls:
            return {"role": "assistant", "content": text}
        content, calls = split_tool_calls(text)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [call.openai() for call in calls]
        return message

    def stream_event(self, chunk: Chunk) -> str:
        """The SSE events of one chunk: usually one; with tool calls, none while a call is
        still open and one per text piece or closed call."""
        if self.kind == "chat" and self.tool_calls:
            return self._tool_events(chunk)
        choice: dict[str, Any] = {
            "index": chunk.index,
            "finish_reason": None
            if chunk.finish_reason is None
            else FINISH_REASONS.get(chunk.finish_reason, "stop"),
            "logprobs": None,
        }
        if self.kind == "chat":
            choice["delta"] = self._delta(chunk.index, {"content": chunk.text})
            obj = "chat.completion.chunk"
        else:
            choice["text"] = chunk.text
            if chunk.logprobs:
                choice["logprobs"] = {"token_logprobs": list(chunk.logprobs)}
            obj = "text_completion"
        return sse({**self._head(obj), "choices": [choice]})

    def _delta(self, index: int, delta: dict[str, Any]) -> dict[str, Any]:
        if index not in self._started:
            self._started.add(index)
            return {"role": "assistant", **delta}
        return delta

    def _tool_events(self, chunk: Chunk) -> str:
        parser = self._calls.setdefault(chunk.index, ToolCallStream())
        pieces: list[str | ToolCall] = list(parser.feed(chunk.text))
        if chunk.finish_reason is not None:
            pieces += parser.close()
        events = []
        for piece in pieces:
            if isinstance(piece, str):
                delta: dict[str, Any] = {"content": piece}
            else:
                call = {"index": self._sent_calls.get(chunk.index, 0), **piece.openai()}
                self._sent_calls[chunk.index] = call["index"] + 1
                delta = {"content": None, "tool_calls": [call]}
            events.append(self._chat_event(chunk.index, self._delta(chunk.index, delta), None))
        if chunk.finish_reason is not None:
            reason = FINISH_REASONS.get(chunk.finish_reason, "stop")
            if parser.calls and reason == "stop":
                reason = "tool_calls"
            events.append(self._chat_event(chunk.index, self._delta(chunk.index, {}), reason))
        return "".join(events)

    def _chat_event(self, index: int, delta: dict[str, Any], finish: str | None) -> str:
        choice = {"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}
        return sse({**self._head("chat.completion.chunk"), "choices": [choice]})

    def final_event(self, usage: Usage | None, *, include_usage: bool) -> str:
        """The last event: no choices, the usage when asked, and the routing decision."""
        obj = "chat.completion.chunk" if self.kind == "chat" else "text_completion"
        body = {**self._head(obj), "choices": [], "twincore": self.decision.as_dict()}
        body["usage"] = usage_body(usage) if include_usage else None
        return sse(body)


def sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


SSE_DONE = "data: [DONE]\n\n"
