"""The code-generation service as a platform component: `/v1/codegen`, `/ui/codegen`,
`twincore eval codegen`."""

from __future__ import annotations

from dataclasses import replace

from twincore.platform.components import ServiceComponent

# The standard skeleton (see ServiceComponent.standard): service.py, api.py, cli.py, models.py,
# migrations/ and the screen apps/codegen.py. `readiness` reports the sandbox tools in /readyz.
COMPONENTS = (
    replace(
        ServiceComponent.standard(
            "twincore.services.codegen", "CodegenService", title="Code generation"
        ),
        readiness="readiness",
    ),
)
