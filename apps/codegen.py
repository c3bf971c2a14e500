"""Code generation screen: pick a language, give a spec and tests, watch the code, the sandbox
log of each round and the verdict with every round's core and check in one line. The service
is `context.services["codegen"]` (in-process or a Ray handle: `stream` yields the same pickled
`LoopEvent`s and `StoredRun` either way)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any, cast

import gradio as gr

from twincore.apps.calls import friendly, shown_stream
from twincore.platform.components import UiContext
from twincore.platform.router.escalation import summarize_block
from twincore.services.codegen.loop import LoopEvent
from twincore.services.codegen.service import StoredRun

LANGUAGES = ["python", "java", "cpp"]
EXAMPLE_SPEC = "Return the n-th Fibonacci number, with fib(0) = 0 and fib(1) = 1."
EXAMPLE_SIGNATURE = "def fib(n: int) -> int:"
EXAMPLE_TESTS = "assert fib(0) == 0\nassert fib(1) == 1\nassert fib(10) == 55\n"


async def generate(
    client: Any, language: str, model: str, spec: str, signature: str, tests: str, rounds: float
) -> AsyncIterator[tuple[str, str, str]]:
    """(code, sandbox log, verdict) as the loop runs: the reply as it streams, each round's
    sandbox log, then the stored run's verdict."""
    code, log, verdict, shown_round = "", "", "Starting: the router picks a core ...", 0
    events = client.stream_call(
        "stream",
        language=language,
        spec=spec,
        signature=signature,
        tests=tests,
        model=model,
        samples=1,
        rounds=int(rounds),
    )
    async for event in shown_stream(events):
        if isinstance(event, StoredRun):
            verdict = verdict_line(event.view)
        elif event.kind == "text":
            if event.round != shown_round:  # a repair round starts a new reply
                code, shown_round = "", event.round
            code += event.text
            verdict = progress_line(event, "writing")
        elif event.kind == "result":
            code = event.text
            log += round_log(event)
            verdict = progress_line(event, "checked in the sandbox")
        yield code, log, verdict


def progress_line(event: LoopEvent, doing: str) -> str:
    """`Round 1 (repair), candidate 0: writing on swift ...` while the loop runs."""
    rung = "" if event.step == "first" else f" ({event.step})"
    on = f" on {event.core}" if event.core else ""
    return f"Round {event.round}{rung}, candidate {event.candidate}: {doing}{on} ..."


@friendly
async def availability(client: Any) -> str:
    """A notice when the sandbox cannot check some language here (tools missing), with the
    command that installs them; empty when every language can run."""
    report = await client.readiness()
    if report.get("ok"):
        return ""
    languages = report.get("languages", {})
    down = [name for name, ready in languages.items() if not ready]
    reason = report.get("reason", "the sandbox is not available")
    return (
        f"**Not available on this server for {', '.join(down) or 'any language'}:** {reason}. "
        f"Install them with `{report.get('install', 'make sandbox-tools')}` and restart Twincore."
    )


@friendly
def code_language(language: str) -> tuple[dict[str, Any], ...]:
    """The highlighting of the three code boxes follows the chosen language."""
    return (gr.update(language=language),) * 3


def round_log(event: LoopEvent) -> str:
    result = event.result
    if result is None:
        return ""
    rung = "" if event.step == "first" else f", {event.step}"
    return f"--- round {event.round}{rung} (candidate {event.candidate}) ---\n{result.log()}\n"


def attempts_line(twincore: dict[str, Any]) -> str:
    """`swift fail -> swift repair fail -> deep other pass`, and why the answer failed."""
    line = summarize_block(twincore)
    verdict = twincore["verdict"]
    if not verdict["passed"] and verdict["reasons"]:
        line += f" — {verdict['reasons'][0]}"  # the log box shows the tests' output
    return line


def verdict_line(view: dict[str, Any]) -> str:
    """`PASSED (run 3, core deep) · swift fail -> swift repair fail -> deep other pass`; a run
    stored without the escalation: `PASSED after 1 repair round(s) (run 3, core deep)`."""
    status = str(view["status"])
    where = f"(run {view['id']}, core {view.get('core') or '?'})"
    twincore = view.get("twincore")
    if twincore:
        return f"{status.upper()} {where} · {attempts_line(twincore)}"
    best = view.get("best_candidate")
    rounds = ""
    candidates = view.get("candidates")
    if isinstance(candidates, list) and isinstance(best, int):
        attempts = candidates[best]["attempts"]
        rounds = f" after {len(attempts) - 1} repair round(s)"
    return f"{status.upper()}{rounds} {where}"


def build(context: UiContext) -> gr.Blocks:
    client = context.services["codegen"]
    with gr.Blocks(title="Twincore code generation") as demo:
        gr.Markdown(
            "# Code generation\nThe model writes code, the sandbox runs it against your tests; "
            "a failure goes back to the model with the tests' output, then to the other core."
        )
        with gr.Row():
            language = gr.Radio(LANGUAGES, value="python", label="Language")
            model = gr.Radio(["auto", "deep", "swift"], value="auto", label="Model")
            rounds = gr.Slider(0, 4, value=2, step=1, label="Repair rounds")
        notice = gr.Markdown(elem_id="codegen-availability")
        spec = gr.Textbox(label="Spec", lines=3, value=EXAMPLE_SPEC)
        signature = gr.Code(label="Signature", language="python", value=EXAMPLE_SIGNATURE)
        tests = gr.Code(label="Tests", language="python", value=EXAMPLE_TESTS)
        with gr.Row():
            run = gr.Button("Generate", variant="primary", scale=4)
            stop = gr.Button("Stop", variant="stop", scale=1)
        verdict = gr.Textbox(label="Verdict", interactive=False)
        code = gr.Code(label="Code", language="python", interactive=False)
        log = gr.Textbox(label="Sandbox log", lines=12, interactive=False)
        language.change(
            code_language,
            inputs=[language],
            outputs=[signature, tests, code],
            api_visibility="private",
        )
        running = run.click(
            friendly(partial(generate, client)),
            inputs=[language, model, spec, signature, tests, rounds],
            outputs=[code, log, verdict],
            api_name="generate",
        )
        stop.click(None, cancels=[running], api_visibility="private")
        demo.load(partial(availability, client), outputs=[notice], api_visibility="private")
    return cast(gr.Blocks, demo)
