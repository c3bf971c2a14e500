"""The tutor as a platform component: `/v1/tutor/...`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent
from twincore.services.tutor.api import build_api
from twincore.services.tutor.service import TutorService

COMPONENTS = (ServiceComponent(name="tutor", factory=TutorService, api=build_api),)
