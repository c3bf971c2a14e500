"""The toy service's screen."""

from __future__ import annotations

from typing import Any

import gradio as gr


def build(context: Any) -> gr.Blocks:
    with gr.Blocks(title="Toy") as demo:
        gr.Markdown("# Toy service")
    return demo
