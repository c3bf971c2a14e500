"""The AML service as a platform component: detection, cases and narratives at `/v1/aml`, `/ui/aml`,
`twincore aml ...`, `twincore eval aml`, `twincore bench aml`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

COMPONENTS = (
    ServiceComponent(
        name="aml",
        factory="twincore.services.aml.service:AmlService",
        api="twincore.services.aml.api:build_api",
        title="AML",
        ui="twincore.apps.aml:build",
        cli="twincore.services.aml.cli:app",
        evals="twincore.services.aml.cli:eval_command",
        bench="twincore.services.aml.cli:bench_command",
        tables=("twincore.services.aml.models",),
        migrations="twincore.services.aml:migrations",
    ),
)
