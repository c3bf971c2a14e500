"""Prometheus metrics of one gateway replica: requests, tokens, latency, routing decisions."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    """One registry per gateway, so two gateways in one process never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "twincore_requests",
            "Gateway requests by endpoint, core and HTTP status",
            ["endpoint", "core", "status"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "twincore_tokens",
            "Tokens processed by core and kind (prompt or completion)",
            ["core", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "twincore_request_latency_seconds",
            "Request latency by core, first byte to last",
            ["core"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.first_token = Histogram(
            "twincore_time_to_first_token_seconds",
            "Time from request to the first generated text by core",
            ["core"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.decisions = Counter(
            "twincore_routing_decisions",
            "Routing decisions by requested model, chosen core and whether it was a fallback",
            ["requested", "core", "fallback"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
