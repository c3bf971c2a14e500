"""The multi-style writing service as a platform component: `/v1/writing`, `/ui/writing`,
`twincore writing ...`, `twincore eval writing`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

# The standard skeleton (see ServiceComponent.standard): service.py, api.py, cli.py, models.py,
# migrations/ and the screen apps/writing.py.
COMPONENTS = (
    ServiceComponent.standard(
        "twincore.services.writing", "WritingService", title="Writing", cli=True
    ),
)
