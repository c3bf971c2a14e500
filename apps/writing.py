"""Writing screen: a gallery of the twelve styles with their exemplars; compose on a topic or
rewrite a text in a style while the candidates stream (with the core writing them); the verdict
(met, or unmet with each unmet rule and why, and a "Try again" button), the text or best attempt,
the checker report and the predicted style; a 1-5 rating and the average satisfaction per style.

The handlers take the writing service client (`context.services["writing"]`, bound with
`functools.partial`) and plain values; any failure reaches the screen as one plain sentence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any, cast

import gradio as gr

from twincore.apps import writing_views as views
from twincore.apps.calls import friendly, shown, shown_stream
from twincore.platform.components import UiContext
from twincore.services.writing.generate.run import MAX_CANDIDATES, clean_reply
from twincore.services.writing.registry import get_style, load_styles
from twincore.services.writing.service import style_dict

PROMPT_LABELS = {"compose": "Topic", "rewrite": "Source text"}
EXAMPLE_TOPIC = "first snow on an empty playground"


def gallery() -> list[dict[str, Any]]:
    """The shipped styles as the service shows them (static: names, exemplars, constraints)."""
    return [style_dict(s) for s in load_styles().values()]


def style_names() -> dict[str, str]:
    """Style id -> its name in its own language."""
    return {s.id: s.display_name for s in load_styles().values()}


def prompt_box(mode: str) -> dict[str, Any]:
    """The prompt box for a mode: its label, emptied."""
    update: dict[str, Any] = gr.update(label=PROMPT_LABELS[mode], value="")
    return update


async def satisfaction(service: Any, style_id: str) -> tuple[list[list[Any]], str]:
    """The per-style satisfaction table and the average line of one style."""
    rated = await shown(service.styles())
    ratings = {s["id"]: s["ratings"] for s in rated if s["ratings"]["count"]}
    return views.rating_rows(rated), views.average_line(style_id, ratings, style_names())


async def write(
    service: Any,
    style_id: str,
    mode: str,
    model: str,
    prompt: str,
    candidates: float,
    max_tokens: float,
    revise: bool,
    seed: int | None = None,
) -> AsyncIterator[tuple[Any, ...]]:
    """Stream a run: (progress, text, verdict, the try-again button, report rows, prediction,
    draft id) as it goes; `seed` samples every candidate (what "Try again" sends). The text box
    shows a candidate as the checker will read it (echoed instructions dropped) and is labelled
    an attempt, not a result, when the run ends unmet."""
    names, skip, style = style_names(), gr.skip(), get_style(style_id)
    log: list[str] = []
    text, tokens, current = "", 0, (-1, -1)
    events = service.stream_call(
        "write_events",
        mode=mode,
        style=style_id,
        prompt=prompt,
        model=model,
        candidates=int(candidates) or None,  # 0: the router's budget decides
        revise=revise,
        max_tokens=int(max_tokens),
        seed=seed,
    )
    async for event in shown_stream(events):
        kind = event["event"]
        if kind == "start":
            asked = "the router picks the core" if model == "auto" else f"on the {model} core"
            log.append(f"writing a {names[style_id]} ({mode}), {asked}")
            blank = gr.update(value="", label="Text")
            yield "\n".join(log), blank, "", gr.update(visible=False), [], "", None
        elif kind == "token":
            if (event.get("attempt", 0), event["candidate"]) != current:
                current, text, tokens = (event.get("attempt", 0), event["candidate"]), "", 0
                log.append("")
            text, tokens = text + event["text"], tokens + 1
            log[-1] = views.progress_line(event, tokens)
            shown_text = gr.update(value=clean_reply(text, style), label=views.writing_label(event))
            yield "\n".join(log), shown_text, skip, skip, skip, skip, skip
        elif kind == "draft":
            log[-1] = views.progress_line(event, tokens)
            yield "\n".join(log), skip, skip, skip, skip, skip, skip
        elif kind == "attempt":
            log.append(views.attempt_line(event))
            yield "\n".join(log), skip, skip, skip, skip, skip, skip
        elif kind == "result":
            draft = event["draft"]
            log.append(f"{views.status_of(draft)}: saved as draft {draft['id']}")
            yield (
                "\n".join(log),
                gr.update(value=draft["text"], label=views.text_label(draft, names)),
                views.verdict_markdown(draft, names),
                gr.update(visible=views.status_of(draft) == "unmet"),
                views.report_rows(draft["report"]),
                views.prediction_line(draft, names),
                draft["id"],
            )


async def write_again(
    service: Any,
    style_id: str,
    mode: str,
    model: str,
    prompt: str,
    candidates: float,
    max_tokens: float,
    revise: bool,
    tries: int,
) -> AsyncIterator[tuple[Any, ...]]:
    """ "Try again": the same request with every candidate sampled from a new seed (a greedy
    rerun would only write the same text again)."""
    run = write(service, style_id, mode, model, prompt, candidates, max_tokens, revise, tries)
    async for values in run:
        yield values


def next_try(tries: int) -> int:
    return int(tries) + 1


async def rate(
    service: Any, draft_id: int | None, stars: str | None
) -> tuple[str, list[list[Any]], str]:
    """Rate the draft; the rating line, the satisfaction table and its style's average."""
    if draft_id is None:
        raise gr.Error("Write a text first, then rate it.")
    if not stars:
        raise gr.Error("Pick 1 to 5 stars.")
    rated = await shown(service.rate(int(draft_id), int(stars)))
    # The average of the draft's own style (the picker may have moved on since).
    rows, style_line = await satisfaction(service, rated["style"])
    count, mean = rated["ratings"]["count"], rated["ratings"]["average"]
    plural = "rating" if count == 1 else "ratings"
    draft_line = f"Draft {draft_id} rated {stars}/5 (this draft: {mean:.2f} from {count} {plural})"
    return draft_line, rows, style_line


def build(context: UiContext) -> gr.Blocks:
    service = context.services["writing"]
    styles = gallery()
    with gr.Blocks(title="Twincore writing") as demo:
        gr.Markdown(
            "# Writing in twelve styles\nThe model writes candidates in the style; a checker "
            "holds each to the style's rules; when none meets them all, the best gets a repair "
            "naming what failed, then (model auto) the other core tries. A text that still "
            "fails is shown as **unmet**, never as a finished piece. A classifier says which "
            "style the result reads as."
        )
        with gr.Tab("Write"):
            with gr.Row():
                style = gr.Dropdown(
                    [(views.style_label(s), s["id"]) for s in styles], value="haiku", label="Style"
                )
                mode = gr.Radio(["compose", "rewrite"], value="compose", label="Mode")
                model = gr.Radio(["auto", "deep", "swift"], value="auto", label="Model")
            prompt = gr.Textbox(label=PROMPT_LABELS["compose"], lines=3, value=EXAMPLE_TOPIC)
            with gr.Row():
                candidates = gr.Slider(
                    0, MAX_CANDIDATES, value=0, step=1, label="Candidates (0: router budget)"
                )
                max_tokens = gr.Slider(16, 1024, value=256, step=8, label="Max tokens")
                revise = gr.Checkbox(value=True, label="Repair once if a rule fails")
            write_button = gr.Button("Write", variant="primary")
            verdict = gr.Markdown(elem_id="writing-verdict")
            try_again = gr.Button("Try again", visible=False, elem_id="writing-try-again")
            with gr.Row(equal_height=False):
                text = gr.Textbox(label="Text", lines=10, interactive=False, scale=3)
                progress = gr.Textbox(label="Progress", lines=10, interactive=False, scale=2)
            report = gr.Dataframe(
                headers=views.REPORT_COLUMNS,
                column_widths=views.REPORT_WIDTHS,
                label="Checker report",
                interactive=False,
                wrap=True,
                elem_id="writing-report",
            )
            predicted = gr.Textbox(label="Predicted style", interactive=False)
            tries = gr.State(0)
            draft_id = gr.State(None)
            with gr.Row():
                stars = gr.Radio(
                    ["1", "2", "3", "4", "5"], label="Your rating", elem_id="writing-stars", scale=3
                )
                rate_button = gr.Button("Rate", scale=1, elem_id="writing-rate")
            rated = gr.Textbox(label="Rating", interactive=False)
            average = gr.Textbox(label="Average satisfaction", interactive=False)
            ratings = gr.Dataframe(
                headers=views.RATING_COLUMNS,
                label="Average satisfaction per style",
                interactive=False,
                wrap=True,
                elem_id="writing-ratings",
            )
        with gr.Tab("Styles", elem_id="writing-styles"):
            for s in styles:
                with gr.Accordion(views.style_label(s), open=False):
                    gr.Markdown(views.style_card(s))

        mode.change(friendly(prompt_box), inputs=[mode], outputs=[prompt], api_name="prompt_box")
        show_satisfaction = friendly(partial(satisfaction, service))
        style.change(
            show_satisfaction, inputs=[style], outputs=[ratings, average], api_name="satisfaction"
        )
        request = [style, mode, model, prompt, candidates, max_tokens, revise]
        written = [progress, text, verdict, try_again, report, predicted, draft_id]
        write_button.click(
            friendly(partial(write, service)), inputs=request, outputs=written, api_name="write"
        )
        try_again.click(friendly(next_try), inputs=tries, outputs=tries, api_name="next_try").then(
            friendly(partial(write_again, service)),
            inputs=[*request, tries],
            outputs=written,
            api_name="write_again",
        )
        rate_button.click(
            friendly(partial(rate, service)),
            inputs=[draft_id, stars],
            outputs=[rated, ratings, average],
            api_name="rate",
        )
        demo.load(
            show_satisfaction, inputs=[style], outputs=[ratings, average], api_name="satisfaction"
        )
    return cast(gr.Blocks, demo)
