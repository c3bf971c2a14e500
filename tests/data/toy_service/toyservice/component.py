"""The toy service's one registration."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

COMPONENTS = (
    ServiceComponent(
        name="toy",
        factory="toyservice.service:ToyService",
        api="toyservice.api:build_api",
        title="Toy",
        ui="toyservice.app:build",
        cli="toyservice.cli:app",
        evals="toyservice.cli:eval_command",
        tables=("toyservice.models",),
    ),
)
