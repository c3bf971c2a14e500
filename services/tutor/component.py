"""The math tutor as a platform component: `/v1/tutor`, `/ui/tutor`, `twincore eval tutor`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

# The standard skeleton (see ServiceComponent.standard): service.py, api.py, cli.py, models.py,
# migrations/ and the screen apps/tutor.py.
COMPONENTS = (
    ServiceComponent.standard("twincore.services.tutor", "TutorService", title="Math tutor"),
)
