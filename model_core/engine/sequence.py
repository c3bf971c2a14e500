"""Per-request and per-candidate state inside the engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from twincore.model_core.engine.text import TextStream
from twincore.model_core.engine.types import Chunk, FinishReason, GenerationRequest


@dataclass(eq=False)
class RequestState:
    """One submitted request: its candidates, where its chunks go, its clock."""

    request: GenerationRequest
    request_id: str
    sink: Callable[[Chunk], None]
    submitted_at: float = field(default_factory=time.monotonic)
    deadline_at: float | None = None
    cached_prompt_tokens: int = 0
    sequences: list[Sequence] = field(default_factory=list)
    forked: bool = False
    finals_sent: int = 0

    @property
    def done(self) -> bool:
        return bool(self.sequences) and all(s.finish_reason is not None for s in self.sequences)


@dataclass(eq=False)
class Sequence:
    """One candidate: its tokens, its blocks and how much of it the cache already holds."""

    state: RequestState
    index: int
    tokens: list[int]
    prompt_len: int
    generator: torch.Generator | None
    text: TextStream | None
    blocks: list[int] = field(default_factory=list)
    computed: int = 0
    """Tokens whose KV entries are in the pool (always < len(tokens) while running)."""
    hashed_blocks: int = 0
    chain: bytes = b""
    """Prefix hash of the last hashed block."""
    logprobs: list[float] = field(default_factory=list)
    finish_reason: FinishReason | None = None
    admitted_at: float = 0.0
    draft_k: int = 0
    """Tokens to draft at the next speculative step (0 until the first one; see speculative.py)."""

    @property
    def output(self) -> list[int]:
        return self.tokens[self.prompt_len :]

    @property
    def pending(self) -> int:
        """Tokens to feed before the next token can be sampled."""
        return len(self.tokens) - self.computed
