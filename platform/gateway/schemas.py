"""OpenAI-compatible request bodies, validated at the edge (unknown fields are ignored)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from twincore.model_core.engine.constraint import Constraint, ConstraintKind
from twincore.model_core.engine.repetition import MAX_LOOP_TOKENS, RepetitionGuard
from twincore.model_core.engine.sampling import MAX_CANDIDATES, MAX_STOP_STRINGS, SamplingParams
from twincore.platform.structured import PreparedChat, Tool, ToolChoice, prepare_chat
from twincore.platform.structured.tools import NAME_PATTERN

MAX_TOKENS_LIMIT = 32_768
MAX_TOOLS = 128
MAX_ROW_ID = 2**63 - 1

RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]
"""A database row id in a path, query or body: one beyond SQL's 64-bit integers cannot even be
bound to a query (the driver raises OverflowError), so it is refused with a 422 up front."""
NAME = NAME_PATTERN.pattern


class ToolCallFunction(BaseModel):
    name: str
    arguments: str = Field("{}", description="the arguments as JSON text")


class ToolCallBody(BaseModel):
    """A call an earlier assistant turn made (sent back in an agent loop)."""

    id: str = ""
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ChatMessage(BaseModel):
    """One chat turn; content is text or a list of text parts. An assistant turn may carry
    `tool_calls` (then content may be null); a 'tool' turn answers the call `tool_call_id`."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None
    tool_calls: list[ToolCallBody] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _calls_need_no_content(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("tool_calls") and "content" not in data:
            return {**data, "content": None}
        return data

    @model_validator(mode="after")
    def _content_or_calls(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError("content may be null only in an assistant turn with tool_calls")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant turns carry tool_calls")
        return self

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(part.get("text", "")) for part in self.content)


class FunctionBody(BaseModel):
    """A function the model may call."""

    name: str = Field(pattern=NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="JSON schema of the arguments")
    strict: bool | None = Field(None, description="accepted; arguments always match the schema")


class ToolBody(BaseModel):
    type: Literal["function"]
    function: FunctionBody

    def tool(self) -> Tool:
        return Tool.from_openai(self.model_dump(exclude_none=True))


class NamedFunction(BaseModel):
    name: str = Field(pattern=NAME)


class NamedToolChoice(BaseModel):
    """Call this function (exactly one call)."""

    type: Literal["function"]
    function: NamedFunction


class TextFormat(BaseModel):
    type: Literal["text"]


class JsonObjectFormat(BaseModel):
    type: Literal["json_object"]


class JsonSchemaSpec(BaseModel):
    name: str = Field(pattern=NAME)
    description: str | None = None
    json_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="the answer's JSON schema; left out: any JSON object"
    )
    strict: bool | None = Field(None, description="accepted; the answer always matches")


class JsonSchemaFormat(BaseModel):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


ResponseFormat = Annotated[
    TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")
]


class ConstraintBody(BaseModel):
    """Extension: the language the answer must belong to (model_core/engine/constraint.py)."""

    model_config = ConfigDict(extra="forbid")

    kind: ConstraintKind
    source: str = Field("", description="JSON schema text, regex or Lark grammar")
    strict: bool = Field(
        True, description="false: a core that cannot apply it answers without it (a guide)"
    )

    @model_validator(mode="after")
    def _sound(self) -> ConstraintBody:
        problems = self.constraint().problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def constraint(self) -> Constraint:
        return Constraint(self.kind, self.source, self.strict)


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
    constraint: ConstraintBody | None = Field(
        None,
        description="extension: the answer must match this JSON schema, regex or Lark grammar "
        "(the engine masks every token that would leave it)",
    )

    @field_validator("repetition_guard", mode="before")
    @classmethod
    def _guard_shape(cls, value: object) -> object:
        # Checked before the union so a wrong type gets one sentence, not pydantic's report of
        # every union member it tried.
        if value is None or isinstance(value, bool | RepetitionGuardBody):
            return value
        if not isinstance(value, dict):
            raise ValueError("repetition_guard takes true, false or an object of guard settings")
        try:
            return RepetitionGuardBody.model_validate(value)
        except ValidationError as error:
            problems = [
                ".".join(str(part) for part in e["loc"]) + (": " if e["loc"] else "") +
                e["msg"].removeprefix("Value error, ")
                for e in error.errors()
            ]  # fmt: skip
            raise ValueError("; ".join(problems)) from None

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
            constraint=self.constraint.constraint() if self.constraint else None,
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
    """POST /v1/chat/completions, with tools and structured outputs."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS_LIMIT)
    logprobs: bool = False
    """Refused for now: chunks carry log-probabilities but not the per-token text OpenAI's
    format needs."""
    tools: list[ToolBody] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None
    _prepared: PreparedChat | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _supported(self) -> ChatCompletionRequest:
        if self.logprobs:
            raise ValueError("logprobs are not supported by this API yet")
        if self.max_tokens is None:
            self.max_tokens = self.max_completion_tokens
        answer = self.answer_constraint()
        if self.constraint is not None and (
            self.tools or not isinstance(self.response_format, TextFormat | None)
        ):
            raise ValueError("constraint replaces tools and response_format: send one of them")
        choice = self.tool_choice
        raw_choice = choice.model_dump() if isinstance(choice, NamedToolChoice) else choice
        self._prepared = prepare_chat(
            [m.model_dump(exclude_none=True) for m in self.messages],
            tools=[body.tool() for body in self.tools or ()],
            tool_choice=ToolChoice.from_openai(raw_choice),
            parallel=self.parallel_tool_calls,
            answer=answer,
        )
        return self

    def answer_constraint(self) -> Constraint | None:
        """The constraint of the answer's text: response_format's, or the extension's."""
        if self.constraint is not None:
            return self.constraint.constraint()
        if isinstance(self.response_format, JsonObjectFormat):
            return Constraint("json_object")
        if isinstance(self.response_format, JsonSchemaFormat):
            schema = self.response_format.json_schema.json_schema
            return Constraint("json_object") if schema is None else Constraint.json_schema(schema)
        return None

    @property
    def prepared(self) -> PreparedChat:
        """The turns the core reads, the constraint it decodes under, whether to parse calls."""
        if self._prepared is None:
            raise RuntimeError("the request was not validated")
        return self._prepared

    def chat_messages(self) -> list[dict[str, str]]:
        """Text turns any chat template takes (tools listed, tool turns rendered as text)."""
        return self.prepared.messages

    def sampling(self, default_max_tokens: int) -> SamplingParams:
        params = super().sampling(default_max_tokens)
        return replace(params, constraint=self.prepared.constraint)


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
