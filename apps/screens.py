"""The platform's own screens (not services): the playground and the console.

Declared apart from their Gradio files so that reading the component registry (the CLI, a
service replica) does not import Gradio; the builders are imported when the gateway mounts them.
"""

from __future__ import annotations

from twincore.platform.components import UiComponent

COMPONENTS = (
    UiComponent(name="playground", title="Playground", build="twincore.apps.playground:build"),
    UiComponent(name="console", title="Console", build="twincore.apps.console:build"),
)
