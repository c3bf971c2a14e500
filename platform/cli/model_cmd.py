"""`twincore model ...`: inspect a model's size and try it by hand."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from twincore.platform.cli import quantize_cmd
from twincore.platform.cli.context import load_settings, resolve_model_or_fail
from twincore.platform.cli.output import console, err_console, fail, print_facts, print_json

app = typer.Typer(help="Inspect models and try them by hand.", no_args_is_help=True)
app.command("quantize")(quantize_cmd.quantize)

NameArg = Annotated[
    str, typer.Argument(help="default model name, preset, checkpoint directory or .gguf file")
]


@app.command("info")
def info(
    name: NameArg,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Layers, heads, experts, total/active parameters and KV-cache bytes per token."""
    from twincore.model_core.info import model_info
    from twincore.model_core.sources import source_config

    source = resolve_model_or_fail(name, load_settings())
    try:
        config = source_config(source)
    except (ValueError, OSError) as exc:
        fail(str(exc), code=2)
        return
    facts = model_info(config)
    if json_output:
        print_json(facts)
        return
    print_facts(facts, f"model {name}")


@app.command("generate")
def generate(
    name: NameArg,
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="user message")],
    max_tokens: Annotated[int, typer.Option(min=1, max=4096, help="tokens to generate")] = 64,
    system: Annotated[str | None, typer.Option(help="system message")] = None,
    raw: Annotated[
        bool, typer.Option(help="send the prompt as is, without the chat template")
    ] = False,
) -> None:
    """Greedy generation with the plain reference loop (no engine), streamed to the terminal."""
    from gguf import GGUFReader

    from twincore.model_core.generate import greedy_stream
    from twincore.model_core.loader import load_model
    from twincore.model_core.tokenizer import IncrementalDecoder, Tokenizer

    source = resolve_model_or_fail(name, load_settings())
    if source.path is None:
        fail(f"{name} is a preset with random weights and no tokenizer; name a checkpoint", code=2)
        return
    with console.status(f"loading {name} ..."):
        if source.path.suffix == ".gguf":
            reader = GGUFReader(source.path)  # parsing a GGUF takes seconds: read it once
            tokenizer, model = Tokenizer.from_gguf(reader), load_model(reader)
        else:
            tokenizer, model = Tokenizer.from_dir(source.path), load_model(source.path)
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    ids = tokenizer.encode(prompt) if raw else tokenizer.encode_chat(messages)
    decoder = IncrementalDecoder(tokenizer)
    started, count = time.perf_counter(), 0
    for token in greedy_stream(model, ids, max_tokens, tokenizer.stop_ids):
        console.print(decoder.push(token), end="", soft_wrap=True, highlight=False, markup=False)
        count += 1
    console.print(decoder.flush(), highlight=False, markup=False)
    console.file.flush()
    elapsed = time.perf_counter() - started
    err_console.print(f"[dim]{count} tokens in {elapsed:.1f} s ({count / elapsed:.1f} tokens/s)[/]")
