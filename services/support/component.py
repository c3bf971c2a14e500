"""The support service as a platform component: `HostedSupport` behind `/v1/support`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent
from twincore.services.support.api import build_api
from twincore.services.support.hosted import HostedSupport

COMPONENTS = (ServiceComponent(name="support", factory=HostedSupport, api=build_api),)
