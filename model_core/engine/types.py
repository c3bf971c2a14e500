"""What goes into and comes out of the engine: requests, streamed chunks, limits, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from twincore.model_core.engine.sampling import SamplingParams

FinishReason = Literal["stop", "length", "cancelled", "deadline", "error", "repetition"]
"""'repetition': the repetition guard ended a generation that kept looping."""


class EngineError(RuntimeError):
    """Base class of the errors a caller of the engine can act on."""


class QueueFullError(EngineError):
    """The waiting queue is at its limit: retry later (HTTP 429 / 503 at the edge)."""


class RequestTooLargeError(EngineError, ValueError):
    """The prompt plus max_tokens cannot fit the model's context or the KV pool."""


@dataclass(frozen=True)
class EngineConfig:
    """Limits and sizes of one engine."""

    block_size: int = 16
    """Tokens per KV block (the prefix cache shares whole blocks)."""
    num_blocks: int | None = None
    """Blocks in the pool; None sizes the pool from kv_memory_bytes."""
    kv_memory_bytes: int = 256 * 2**20
    """KV pool budget when num_blocks is None."""
    max_running: int = 16
    """Sequences decoding together in one step."""
    max_batch_tokens: int = 256
    """Tokens per step: decode rows plus at most this many minus them of one prefill chunk."""
    max_waiting: int = 64
    """Requests queued beyond the running ones; more are refused with QueueFullError."""
    prefix_cache: bool = True
    """Share full prompt blocks between requests with the same prefix."""
    default_deadline_s: float | None = None
    """Deadline applied to requests that set none (None: no deadline)."""
    speculative: bool = True
    """Draft and verify when the engine has a drafter and a sequence decodes alone."""
    draft_tokens: int = 4
    """Tokens drafted at a sequence's first speculative step; later steps adapt it."""
    max_draft_tokens: int = 8
    """Upper bound of the adaptive draft length."""


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: prompt token ids, sampling parameters, optional deadline."""

    prompt_ids: tuple[int, ...]
    params: SamplingParams = field(default_factory=SamplingParams)
    request_id: str = ""
    deadline_s: float | None = None
    """Seconds from submission after which the request ends with finish_reason 'deadline'."""


@dataclass(frozen=True)
class Usage:
    """Token accounting of one request (all candidates)."""

    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int


@dataclass(frozen=True)
class Chunk:
    """A piece of one candidate's stream: new tokens and their text; the last one finishes."""

    request_id: str
    index: int
    token_ids: tuple[int, ...]
    text: str
    logprobs: tuple[float, ...] | None = None
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    error: str | None = None


@dataclass
class Completion:
    """A finished request as the synchronous helper returns it: one entry per candidate."""

    request_id: str
    texts: list[str]
    token_ids: list[list[int]]
    finish_reasons: list[FinishReason]
    logprobs: list[list[float]] | None
    usage: Usage
