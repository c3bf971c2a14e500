"""The multi-style writing service as a platform component: `/v1/writing`, `/ui/writing`,
`twincore writing ...`, `twincore eval writing`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

COMPONENTS = (
    ServiceComponent(
        name="writing",
        factory="twincore.services.writing.service:WritingService",
        api="twincore.services.writing.api:build_api",
        title="Writing",
        ui="twincore.apps.writing:build",
        cli="twincore.services.writing.cli:app",
        evals="twincore.services.writing.cli:eval_command",
        tables=("twincore.services.writing.models",),
        migrations="twincore.services.writing:migrations",
    ),
)
