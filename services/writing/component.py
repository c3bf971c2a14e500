"""The writing service as a platform component: `/v1/writing/...`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent
from twincore.services.writing.api import build_api
from twincore.services.writing.service import WritingService

COMPONENTS = (ServiceComponent(name="writing", factory=WritingService, api=build_api),)
