"""The knowledge-graph support service as a platform component: `/v1/support`, `/ui/support`,
`twincore support ...`, `twincore eval support`."""

from __future__ import annotations

from dataclasses import replace

from twincore.platform.components import ServiceComponent

# The standard skeleton (see ServiceComponent.standard): service.py, api.py, cli.py, models.py,
# migrations/ and the screen apps/support.py. `readiness` reports whether the graph answers.
COMPONENTS = (
    replace(
        ServiceComponent.standard(
            "twincore.services.support", "SupportService", title="Support", cli=True
        ),
        readiness="readiness",
    ),
)
