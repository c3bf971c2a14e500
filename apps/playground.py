"""Playground: chat with `auto`, `deep` or `swift` and see which core answered and why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import cast

import gradio as gr

from twincore.apps.chat import chat_controls, stream_answer
from twincore.platform.components import UiContext


def build(context: UiContext) -> gr.Blocks:
    router = context.router

    async def answer(prompt: str, model: str, max_tokens: float) -> AsyncIterator[tuple[str, str]]:
        async for text, decision in stream_answer(router, prompt, model, int(max_tokens)):
            yield text, json.dumps(decision.as_dict(), indent=2) if decision else ""

    with gr.Blocks(title="Twincore playground") as demo:
        gr.Markdown("# Twincore playground\nAsk either core; `auto` lets the router choose.")
        chat = chat_controls()
        decision = gr.Code(label="Routing decision", language="json", interactive=False)
        chat.send.click(
            answer,
            inputs=[chat.prompt, chat.model, chat.max_tokens],
            outputs=[chat.reply, decision],
            api_name="chat",
        )
    return cast(gr.Blocks, demo)
