"""The `CoreBackend` seam: every core, local or remote, generates and reports info and health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk


@dataclass(frozen=True)
class CoreRequest:
    """A chat (or raw prompt) generation request as the router hands it to a core."""

    messages: Sequence[Mapping[str, str]] = ()
    """Chat messages ({"role", "content"}); rendered with the model's chat template."""
    prompt: str | None = None
    """Raw prompt text, used as is instead of messages."""
    params: SamplingParams = field(default_factory=SamplingParams)
    request_id: str = ""
    deadline_s: float | None = None

    def __post_init__(self) -> None:
        if not self.messages and self.prompt is None:
            raise ValueError("a request needs messages or a prompt")


class CoreBackend(Protocol):
    """One model core; chunks are the engine's `Chunk` (remote ones may carry no token ids)."""

    name: str

    def generate(self, request: CoreRequest) -> AsyncIterator[Chunk]:
        """Stream the request's chunks; closing the iterator cancels the request."""
        ...

    def info(self) -> dict[str, Any]:
        """What this core is: model, architecture, size, quantization, limits."""
        ...

    def health(self) -> dict[str, Any]:
        """{"ok": bool, ...}: whether the core can serve now, with its load."""
        ...
