"""The AML service as a platform component: detection, cases and narratives at `/v1/aml`, `/ui/aml`,
`twincore aml ...`, `twincore eval aml`, `twincore bench aml`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

# The standard skeleton (see ServiceComponent.standard): service.py, api.py, cli.py, models.py,
# migrations/ and the screen apps/aml.py.
COMPONENTS = (
    ServiceComponent.standard(
        "twincore.services.aml", "AmlService", title="AML", cli=True, bench=True
    ),
)
