"""Playground: chat with `auto`, `deep` or `swift` and see which core answered and why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import cast

import gradio as gr

from twincore.apps.chat import stream_answer
from twincore.platform.components import UiComponent, UiContext


def build(context: UiContext) -> gr.Blocks:
    router = context.router

    async def answer(prompt: str, model: str, max_tokens: float) -> AsyncIterator[tuple[str, str]]:
        async for text, decision in stream_answer(router, prompt, model, int(max_tokens)):
            yield text, json.dumps(decision.as_dict(), indent=2) if decision else ""

    with gr.Blocks(title="Twincore playground") as demo:
        gr.Markdown("# Twincore playground\nAsk either core; `auto` lets the router choose.")
        with gr.Row():
            model = gr.Radio(["auto", "deep", "swift"], value="auto", label="Model")
            max_tokens = gr.Slider(1, 512, value=128, step=1, label="Max tokens")
        prompt = gr.Textbox(label="Message", lines=3, placeholder="Ask something")
        send = gr.Button("Send", variant="primary")
        reply = gr.Textbox(label="Answer", lines=8, interactive=False)
        decision = gr.Code(label="Routing decision", language="json", interactive=False)
        send.click(
            answer, inputs=[prompt, model, max_tokens], outputs=[reply, decision], api_name="chat"
        )
    return cast(gr.Blocks, demo)


COMPONENTS = (UiComponent(name="playground", title="Playground", build=build),)
