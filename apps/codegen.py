"""Code generation screen: pick a language, give a spec and tests, watch the code, the sandbox
log of each round and the verdict. Also declares the codegen service component."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import gradio as gr

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.components import ServiceComponent, UiComponent, UiContext
from twincore.services.codegen.api import build_api
from twincore.services.codegen.loop import LoopEvent
from twincore.services.codegen.service import CodegenService, StoredRun

GRADIO_LANGUAGE = {"python": "python", "java": "java", "cpp": "cpp"}
EXAMPLE_SPEC = "Return the n-th Fibonacci number, with fib(0) = 0 and fib(1) = 1."
EXAMPLE_TESTS = "assert fib(0) == 0\nassert fib(1) == 1\nassert fib(10) == 55\n"


def build(context: UiContext) -> gr.Blocks:
    service = CodegenService(context.router, context.settings)

    async def generate(
        language: str, model: str, spec: str, signature: str, tests: str, rounds: float
    ) -> AsyncIterator[tuple[str, str, str]]:
        code, log, verdict, shown_round = "", "", "running...", 0
        try:
            events = service.stream(
                language=language,
                spec=spec,
                signature=signature,
                tests=tests,
                model=model,
                samples=1,
                rounds=int(rounds),
            )
            async for event in events:
                if isinstance(event, StoredRun):
                    verdict = _verdict(event.view)
                elif event.kind == "text":
                    if event.round != shown_round:  # a repair round starts a new reply
                        code, shown_round = "", event.round
                    code += event.text
                elif event.kind == "result":
                    code = event.text
                    log += _round_log(event)
                yield code, log, verdict
        except ValueError as error:
            raise gr.Error(str(error)) from error
        except TwincoreError as error:
            raise gr.Error(f"{error.status}: {error.message}") from error

    with gr.Blocks(title="Twincore code generation") as demo:
        gr.Markdown(
            "# Code generation\nThe model writes code, the sandbox runs it against your tests, "
            "failures go back to the model for repair."
        )
        with gr.Row():
            language = gr.Radio(["python", "java", "cpp"], value="python", label="Language")
            model = gr.Radio(["auto", "deep", "swift"], value="auto", label="Model")
            rounds = gr.Slider(0, 4, value=2, step=1, label="Repair rounds")
        spec = gr.Textbox(label="Spec", lines=3, value=EXAMPLE_SPEC)
        signature = gr.Code(label="Signature", language="python", value="def fib(n: int) -> int:")
        tests = gr.Code(label="Tests", language="python", value=EXAMPLE_TESTS)
        run = gr.Button("Generate", variant="primary")
        verdict = gr.Textbox(label="Verdict", interactive=False)
        code = gr.Code(label="Code", language="python", interactive=False)
        log = gr.Textbox(label="Sandbox log", lines=12, interactive=False)
        language.change(
            lambda lang: (gr.update(language=GRADIO_LANGUAGE[lang]),) * 3,
            inputs=[language],
            outputs=[signature, tests, code],
        )
        run.click(
            generate,
            inputs=[language, model, spec, signature, tests, rounds],
            outputs=[code, log, verdict],
            api_name="generate",
        )
    return cast(gr.Blocks, demo)


def _round_log(event: LoopEvent) -> str:
    result = event.result
    if result is None:
        return ""
    return f"--- round {event.round} (candidate {event.candidate}) ---\n{result.log()}\n"


def _verdict(view: dict[str, object]) -> str:
    status = str(view["status"])
    best = view.get("best_candidate")
    rounds = ""
    candidates = view.get("candidates")
    if isinstance(candidates, list) and isinstance(best, int):
        attempts = candidates[best]["attempts"]
        rounds = f" after {len(attempts) - 1} repair round(s)"
    return f"{status.upper()}{rounds} (run {view['id']}, core {view.get('core') or '?'})"


COMPONENTS = (
    ServiceComponent(name="codegen", factory=CodegenService, api=build_api),
    UiComponent(name="codegen", title="Code generation", build=build),
)
