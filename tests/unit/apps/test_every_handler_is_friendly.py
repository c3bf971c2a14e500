"""Every event handler of every screen goes through `apps.calls.friendly`: a failure anywhere is
a toast and no component keeps a red "Error" badge (a raised gr.Error left them behind)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from twincore.platform.components import UiContext, load_components
from twincore.platform.settings import Settings


def _handler(fn: Any) -> Any:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


@pytest.mark.parametrize(
    "name", ["playground", "console", "aml", "support", "tutor", "writing", "codegen"]
)
def test_every_python_handler_of_the_screen_is_friendly(name: str, tmp_path: Path) -> None:
    _, uis = load_components()
    (ui,) = [ui for ui in uis if ui.name == name]
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    services = {s: object() for s in ("aml", "support", "tutor", "writing", "codegen")}
    blocks = ui.builder()(UiContext(router=object(), settings=settings, services=services))  # type: ignore[arg-type]
    handlers = [_handler(fn.fn) for fn in blocks.fns.values() if fn.fn is not None]
    # Gradio's own handlers (gr.Examples filling the inputs) are not ours to wrap.
    handlers = [h for h in handlers if not getattr(h, "__module__", "").startswith("gradio")]
    assert handlers, name
    bare = [
        getattr(h, "__name__", repr(h))
        for h in handlers
        if not getattr(h, "twincore_friendly", False)
    ]
    assert not bare, f"{name}: handlers without friendly: {bare}"
