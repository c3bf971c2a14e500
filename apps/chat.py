"""Streaming one answer through the router for the screens that chat (playground, console)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import gradio as gr

from twincore.apps.calls import shown_stream
from twincore.model_core.backends.base import CoreRequest
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import Chunk
from twincore.platform.errors import clean_message
from twincore.platform.router.router import RouterClient
from twincore.platform.router.types import Decision, RouteError, RouteRequest


async def stream_answer(
    router: RouterClient, prompt: str, model: str, max_tokens: int
) -> AsyncIterator[tuple[str, Decision | None]]:
    """The answer so far and the routing decision, after each event; failures become gr.Error."""
    if not prompt.strip():
        raise gr.Error("Type a message first.")
    request = RouteRequest(
        CoreRequest(
            messages=[{"role": "user", "content": prompt}],
            params=SamplingParams(max_tokens=max_tokens),
            request_id=f"ui-{uuid.uuid4().hex[:12]}",
        ),
        model,
    )
    text, decision = "", None
    # A router replica down or a Ray wrapper arrives as one plain sentence (shown_stream).
    async for event in shown_stream(router.stream(request)):
        if isinstance(event, RouteError):
            raise gr.Error(clean_message(event.message))
        if isinstance(event, Decision):
            decision = event
        elif isinstance(event, Chunk):
            if event.error:
                raise gr.Error(f"The core failed: {clean_message(event.error)}")
            text += event.text
        yield text, decision


@dataclass(frozen=True)
class ChatControls:
    model: gr.Radio
    max_tokens: gr.Slider
    prompt: gr.Textbox
    send: gr.Button
    reply: gr.Textbox


def chat_controls() -> ChatControls:
    """The model choice, budget, message box, Send button and answer box, in the open Blocks."""
    with gr.Row():
        model = gr.Radio(["auto", "deep", "swift"], value="auto", label="Model")
        max_tokens = gr.Slider(1, 512, value=128, step=1, label="Max tokens")
    prompt = gr.Textbox(label="Message", lines=3, placeholder="Ask something")
    send = gr.Button("Send", variant="primary")
    reply = gr.Textbox(label="Answer", lines=8, interactive=False)
    return ChatControls(model, max_tokens, prompt, send, reply)
