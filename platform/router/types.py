"""What flows between the gateway, the router and the cores: requests, decisions, failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.types import Chunk

CORE_NAMES = ("deep", "swift")
AUTO = "auto"


@dataclass(frozen=True)
class RouteRequest:
    """A generation request before a core is chosen: `model` is `auto` or a core's name."""

    core_request: CoreRequest
    model: str = AUTO
    latency_target_ms: float | None = None
    """The caller's latency goal for the whole answer (`x-twincore-latency-ms`)."""
    service: str | None = None
    """The service asking, when one does: it fixes the domain label."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """Labels the caller already knows (`domain`, `interactivity`, `difficulty`)."""
    client_set: frozenset[str] = frozenset()
    """Budget fields the client chose (`max_tokens`, `candidates`, `temperature`): kept as is;
    a chosen `max_tokens` is a cap the router never raises, whatever the policy sizes."""


@dataclass(frozen=True)
class Decision:
    """Which core serves a request, with how much compute, and why."""

    core: str
    reason: str
    max_tokens: int
    candidates: int
    temperature: float | None = None
    verify: bool = False
    """Whether the calling service should check the answer with its deterministic engine."""
    mode: Literal["direct", "cascade"] = "direct"
    labels: dict[str, str] = field(default_factory=dict)
    """Stage-1 labels (domain, interactivity, difficulty) of an `auto` request."""
    scores: dict[str, float] = field(default_factory=dict)
    fallback_from: str | None = None
    """The core first chosen when it failed and this one took over."""
    fallback_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CoreCondition = Literal["failed", "busy", "loading"]


@dataclass(frozen=True)
class CoreFailure:
    """A core could not start a request. `client` failures are the caller's fault (400: the
    prompt is too long, a parameter is out of range) and no other core is tried for them.
    `condition` says why otherwise: `failed` (broken: the router cools it down), `busy` (its
    queue is full: back-pressure, no cool-down) or `loading` (its model is not up yet)."""

    core: str
    message: str
    client: bool = False
    condition: CoreCondition = "failed"


@dataclass(frozen=True)
class RouteError:
    """No core could serve the request; `status` is the HTTP status the gateway answers with."""

    status: int
    message: str
    type: Literal["invalid_request_error", "service_unavailable"] = "service_unavailable"
    decision: Decision | None = None
    retry_after_s: float | None = None
    """When a retry may succeed (a core loading, busy or cooling): the `Retry-After` header."""


CoreEvent = Chunk | CoreFailure
"""What a core server streams: chunks, or one failure before any chunk."""

RouteEvent = Decision | Chunk | RouteError
"""What the router streams: a Decision then chunks, or a RouteError alone."""
