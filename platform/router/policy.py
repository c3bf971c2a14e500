"""Which core a request goes to first. The default policy: an explicit model wins, else swift."""

from __future__ import annotations

from typing import Protocol

from twincore.platform.router.types import AUTO, Decision, RouteRequest

DEFAULT_CORE = "swift"


class RoutingPolicy(Protocol):
    """Chooses the first core (and its budget) for a request; the router handles failures."""

    def choose(self, request: RouteRequest) -> Decision: ...


class ExplicitOrDefaultPolicy:
    """`model: deep|swift` is obeyed; `auto` goes to the latency-first core."""

    def __init__(self, default_core: str = DEFAULT_CORE) -> None:
        self.default_core = default_core

    def choose(self, request: RouteRequest) -> Decision:
        params = request.core_request.params
        if request.model != AUTO:
            core, reason = request.model, f"explicit model {request.model!r}"
        else:
            core, reason = self.default_core, f"auto: default core {self.default_core!r}"
        return Decision(core=core, reason=reason, max_tokens=params.max_tokens, candidates=params.n)
