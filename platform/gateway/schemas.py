"""OpenAI-compatible request bodies, validated at the edge (unknown fields are ignored)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from twincore.model_core.engine.repetition import MAX_LOOP_TOKENS, RepetitionGuard
from twincore.model_core.engine.sampling import MAX_CANDIDATES, MAX_STOP_STRINGS, SamplingParams

MAX_TOKENS_LIMIT = 32_768


class ChatMessage(BaseModel):
    """One chat turn; content is text or a list of text parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(str(part.get("text", "")) for part in self.content)


class StreamOptions(BaseModel):
    include_usage: bool = False


class RepetitionGuardBody(BaseModel):
    """The repetition guard's settings (engine/repetition.py); fields left out keep defaults."""

    model_config = ConfigDict(extra="forbid")

    max_line_repeats: int = Field(2, ge=1, description="copies of one line the answer may hold")
    min_line_chars: int = Field(8, ge=1, description="shorter lines never count")
    max_loop_repeats: int = Field(2, ge=2, description="back-to-back copies of a token span")
    min_loop_tokens: int = Field(4, ge=1, le=MAX_LOOP_TOKENS)
    max_loop_tokens: int = Field(64, ge=1, le=MAX_LOOP_TOKENS)
    patience: int = Field(4, ge=0, description="loops broken before the answer is ended")

    @model_validator(mode="after")
    def _ordered(self) -> RepetitionGuardBody:
        if self.min_loop_tokens > self.max_loop_tokens:
            raise ValueError("min_loop_tokens must not exceed max_loop_tokens")
        return self

    def guard(self) -> RepetitionGuard:
        return RepetitionGuard(**self.model_dump())


class _Sampling(BaseModel):
    """Fields shared by chat and text completions."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field("auto", description="'auto' lets the router choose; or 'deep' / 'swift'")
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=MAX_CANDIDATES)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    top_k: int | None = Field(None, ge=0, description="extension: sample among the k most likely")
    repetition_penalty: float | None = Field(None, gt=0.0, description="extension")
    repetition_guard: StrictBool | RepetitionGuardBody | None = Field(
        None,
        description="extension: true (or the guard's settings) bans the token that would repeat "
        "a looping line or span once more and ends an answer that keeps looping; off by default",
    )
    user: str | None = None
    latency_target_ms: float | None = Field(
        None,
        gt=0,
        description="extension: answer within this many ms when a core can "
        "(header x-twincore-latency-ms works too)",
    )
    metadata: dict[str, str] | None = Field(
        None,
        description="routing hints the caller knows: domain, interactivity, difficulty",
    )

    @field_validator("stop")
    @classmethod
    def _stop_strings(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > MAX_STOP_STRINGS or any(not s for s in stops):
            raise ValueError(f"stop takes at most {MAX_STOP_STRINGS} non-empty strings")
        return value

    def sampling(self, default_max_tokens: int) -> SamplingParams:
        stops = [self.stop] if isinstance(self.stop, str) else self.stop or []
        return SamplingParams(
            max_tokens=self.max_tokens or default_max_tokens,
            temperature=0.0 if self.temperature is None else self.temperature,
            top_p=1.0 if self.top_p is None else self.top_p,
            top_k=self.top_k or 0,
            repetition_penalty=self.repetition_penalty or 1.0,
            seed=self.seed,
            stop=tuple(stops),
            n=self.n,
            repetition_guard=self._guard(),
        )

    def _guard(self) -> RepetitionGuard | None:
        if isinstance(self.repetition_guard, RepetitionGuardBody):
            return self.repetition_guard.guard()
        return RepetitionGuard() if self.repetition_guard else None

    def client_budget(self) -> frozenset[str]:
        """Budget fields the client chose; the router's policy keeps them."""
        chosen = {"max_tokens", "max_completion_tokens", "n", "temperature"} & self.model_fields_set
        names = {"max_completion_tokens": "max_tokens", "n": "candidates"}
        return frozenset(names.get(name, name) for name in chosen)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(_Sampling):
    """POST /v1/chat/completions (tools-free)."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    logprobs: bool = False
    """Refused for now: chunks carry log-probabilities but not the per-token text OpenAI's
    format needs."""
    tools: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _tools_free(self) -> ChatCompletionRequest:
        if self.tools:
            raise ValueError("tools are not supported by this API")
        if self.logprobs:
            raise ValueError("logprobs are not supported by this API yet")
        if self.max_tokens is None:
            self.max_tokens = self.max_completion_tokens
        return self

    def chat_messages(self) -> list[dict[str, str]]:
        # Templates know 'system'; OpenAI's newer 'developer' role means the same to them.
        return [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
            for m in self.messages
        ]


class CompletionRequest(_Sampling):
    """POST /v1/completions: a raw prompt, no chat template."""

    prompt: str | list[str]
    logprobs: int | None = Field(None, ge=0, le=1, description="1: each token's log-probability")

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError("exactly one prompt per request is supported")
        return value

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def sampling(self, default_max_tokens: int) -> SamplingParams:
        params = super().sampling(default_max_tokens)
        return replace(params, logprobs=True) if self.logprobs else params
