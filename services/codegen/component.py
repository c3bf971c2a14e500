"""The code-generation service as a platform component: `/v1/codegen`, `/ui/codegen`,
`twincore eval codegen`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

COMPONENTS = (
    ServiceComponent(
        name="codegen",
        factory="twincore.services.codegen.service:CodegenService",
        api="twincore.services.codegen.api:build_api",
        title="Code generation",
        ui="twincore.apps.codegen:build",
        evals="twincore.services.codegen.cli:eval_command",
        tables=("twincore.services.codegen.models",),
        migrations="twincore.services.codegen:migrations",
    ),
)
