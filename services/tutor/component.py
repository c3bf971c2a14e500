"""The math tutor as a platform component: `/v1/tutor`, `/ui/tutor`, `twincore eval tutor`."""

from __future__ import annotations

from twincore.platform.components import ServiceComponent

COMPONENTS = (
    ServiceComponent(
        name="tutor",
        factory="twincore.services.tutor.service:TutorService",
        api="twincore.services.tutor.api:build_api",
        title="Math tutor",
        ui="twincore.apps.tutor:build",
        evals="twincore.services.tutor.cli:eval_command",
        tables=("twincore.services.tutor.models",),
        migrations="twincore.services.tutor:migrations",
    ),
)
