"""The knowledge-graph support service as a platform component: `/v1/support`, `/ui/support`,
`twincore support ...`, `twincore eval support`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

COMPONENTS = (
    ServiceComponent(
        name="support",
        factory="twincore.services.support.service:SupportService",
        api="twincore.services.support.api:build_api",
        title="Support",
        ui="twincore.apps.support:build",
        cli="twincore.services.support.cli:app",
        evals="twincore.services.support.cli:eval_command",
        tables=("twincore.services.support.models",),
        migrations="twincore.services.support:migrations",
    ),
)
