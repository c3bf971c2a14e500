"""OpenAI-shaped response bodies and stream events built from the router's chunks."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from twincore.model_core.engine.types import Chunk, Usage
from twincore.platform.router.types import Decision

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
    """Builds one request's bodies; ids and timestamps stay the same across its stream."""

    def __init__(self, kind: Kind, request_id: str, decision: Decision) -> None:
        self.kind, self.decision = kind, decision
        self.id = f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{request_id}"
        self.created = int(time.time())
        self._started: set[int] = set()

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
                choice["message"] = {"role": "assistant", "content": text}
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

    def stream_event(self, chunk: Chunk) -> str:
        choice: dict[str, Any] = {
            "index": chunk.index,
            "finish_reason": None
            if chunk.finish_reason is None
            else FINISH_REASONS.get(chunk.finish_reason, "stop"),
            "logprobs": None,
        }
        if self.kind == "chat":
            delta: dict[str, Any] = {"content": chunk.text}
            if chunk.index not in self._started:
                self._started.add(chunk.index)
                delta["role"] = "assistant"
            choice["delta"] = delta
            obj = "chat.completion.chunk"
        else:
            choice["text"] = chunk.text
            if chunk.logprobs:
                choice["logprobs"] = {"token_logprobs": list(chunk.logprobs)}
            obj = "text_completion"
        return sse({**self._head(obj), "choices": [choice]})

    def final_event(self, usage: Usage | None, *, include_usage: bool) -> str:
        """The last event: no choices, the usage when asked, and the routing decision."""
        obj = "chat.completion.chunk" if self.kind == "chat" else "text_completion"
        body = {**self._head(obj), "choices": [], "twincore": self.decision.as_dict()}
        body["usage"] = usage_body(usage) if include_usage else None
        return sse(body)


def sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


SSE_DONE = "data: [DONE]\n\n"
