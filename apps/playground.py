"""Playground: chat with `auto`, `deep` or `swift` and see which core answered and why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import gradio as gr

from twincore.apps.calls import friendly
from twincore.apps.chat import route_request, stream_reply, summary_line, truncation_notice
from twincore.platform.components import UiContext

STOPPED = "Stopped: the answer so far stays in the conversation."
WAITING = "*Waiting for the first token…*"

ChatUpdate = tuple[list[dict[str, Any]], Any, str, str, dict[str, Any] | None]
"""conversation, message box, truncation notice, decision summary, decision JSON."""


@friendly
def stopped(summary: str) -> tuple[Any, Any]:
    """The notice and summary once Stop ended an answer; nothing changes when none was running
    (the summary of a running answer ends "so far…" or waits for its first token)."""
    if not summary.endswith(("so far…", WAITING)):
        return gr.skip(), gr.skip()
    return STOPPED, summary.replace(" so far…", ", then stopped")


def chat_panel(context: UiContext, *, screen: str) -> None:
    """The conversation, its controls (model, max tokens, Send, Stop, New chat) and the routing
    decision of the last answer, in the open Blocks; `screen` names the caller in the log."""
    router, database_url = context.router, context.settings.database_url

    @friendly
    async def answer(
        history: list[dict[str, Any]], message: str, model: str, max_tokens: float
    ) -> AsyncIterator[ChatUpdate]:
        if not message.strip():
            raise gr.Error("Type a message first.")
        request = route_request(history, message, model, int(max_tokens))
        asked = [*history, {"role": "user", "content": message}]
        yield asked, "", "", WAITING, None
        replies = stream_reply(router, request, database_url=database_url, screen=screen)
        async for reply in replies:
            decision = reply.decision.as_dict() if reply.decision else None
            yield (
                [*asked, {"role": "assistant", "content": reply.text}],
                gr.skip(),  # the next message may already be being typed
                truncation_notice(reply),
                summary_line(reply),
                decision,
            )

    with gr.Row(equal_height=True):
        model = gr.Radio(["auto", "deep", "swift"], value="auto", label="Model", scale=2)
        max_tokens = gr.Slider(
            1, 1024, value=256, step=1, label="Max tokens", info="a cap on each answer", scale=3
        )
    history = gr.Chatbot(
        label="Conversation",
        height=380,
        buttons=["copy"],
        feedback_options=None,
        placeholder="Ask something; every earlier turn goes with the next message.",
        elem_id=f"{screen}-conversation",
    )
    notice = gr.Markdown(elem_id=f"{screen}-notice", elem_classes="chat-notice")
    prompt = gr.Textbox(
        label="Message",
        lines=2,
        placeholder="Ask something (Enter sends, Shift+Enter: new line)",
        elem_id=f"{screen}-message",
    )
    with gr.Row():
        send = gr.Button("Send", variant="primary")
        stop = gr.Button("Stop", variant="stop")
        clear = gr.Button("New chat")
    summary = gr.Markdown(elem_id=f"{screen}-summary", elem_classes="chat-summary")
    with gr.Accordion("Routing decision (JSON)", open=False):
        # gr.JSON, not gr.Code: CodeMirror measured while the fold is shut misplaces its gutter.
        decision = gr.JSON(show_label=False, elem_id=f"{screen}-decision")

    inputs = [history, prompt, model, max_tokens]
    outputs = [history, prompt, notice, summary, decision]
    sent = send.click(answer, inputs=inputs, outputs=outputs, api_name="chat")
    submitted = prompt.submit(answer, inputs=inputs, outputs=outputs, api_visibility="private")
    stop.click(
        stopped,
        inputs=summary,
        outputs=[notice, summary],
        cancels=[sent, submitted],
        api_visibility="private",
    )
    clear.click(
        friendly(lambda: ([], "", "", "", None)),
        outputs=outputs,
        cancels=[sent, submitted],
        api_visibility="private",
    )


def build(context: UiContext) -> gr.Blocks:
    with gr.Blocks(title="Twincore playground") as demo:
        gr.Markdown("# Twincore playground\nChat with either core; `auto` lets the router choose.")
        chat_panel(context, screen="playground")
    return cast(gr.Blocks, demo)
