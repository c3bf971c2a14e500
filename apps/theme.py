"""What every screen is mounted with: the shared stylesheet, the screen's own, and the words
Gradio's English locale lacks.

Gradio 6 takes stylesheets and translations at mount time, not on `gr.Blocks`, so the gateway
asks here. A screen's own rules live in `apps/css/<name>.css` (read when present).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CSS_DIR = Path(__file__).resolve().parent / "css"
# Gradio's status tracker announces `common.complete` to screen readers after each action, a key
# its English locale does not define, so readers spoke the key itself.
MISSING_WORDS = {"common.complete": "Done"}


def screen_css(name: str) -> str:
    """The shared stylesheet followed by the screen's own (either may be absent)."""
    parts = [CSS_DIR / "common.css", CSS_DIR / f"{name}.css"]
    return "\n".join(path.read_text(encoding="utf-8") for path in parts if path.is_file())


def mount_options(name: str) -> dict[str, Any]:
    """Keyword arguments for `gr.mount_gradio_app` for the screen called `name`."""
    import gradio as gr

    return {"css": screen_css(name) or None, "i18n": gr.I18n(en=MISSING_WORDS)}
