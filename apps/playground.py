"""Playground: chat with `auto`, `deep` or `swift` and see which core answered and why."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import cast

import gradio as gr

from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk
from twincore.platform.components import UiComponent, UiContext
from twincore.platform.router.types import Decision, RouteError, RouteRequest


def build(context: UiContext) -> gr.Blocks:
    router = context.router

    async def answer(prompt: str, model: str, max_tokens: float) -> AsyncIterator[tuple[str, str]]:
        if not prompt.strip():
            raise gr.Error("Type a message first.")
        request = RouteRequest(
            CoreRequest(
                messages=[{"role": "user", "content": prompt}],
                params=SamplingParams(max_tokens=int(max_tokens)),
                request_id=f"ui-{uuid.uuid4().hex[:12]}",
            ),
            model,
        )
        text, decision = "", ""
        async for event in router.stream(request):
            if isinstance(event, RouteError):
                raise gr.Error(f"{event.status}: {event.message}")
            if isinstance(event, Decision):
                decision = json.dumps(event.as_dict(), indent=2)
            elif isinstance(event, Chunk):
                if event.error:
                    raise gr.Error(f"the core failed: {event.error}")
                text += event.text
            yield text, decision

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
