"""The AML service as a platform component: `AmlService` behind the routes at `/v1/aml`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent
from twincore.services.aml.api import build_router
from twincore.services.aml.service import AmlService

COMPONENTS = (ServiceComponent(name="aml", factory=AmlService, api=build_router),)
