"""`twincore model quantize`: write a weight-only quantized checkpoint the engine starts from."""

from __future__ import annotations

import shutil
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from twincore.platform.cli.context import load_settings, resolve_model_or_fail
from twincore.platform.cli.output import console, fail, print_facts, print_json

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "chat_template.jinja",
)
"""Copied from a checkpoint folder so the quantized folder is self-contained for
`Tokenizer.from_dir`; a GGUF's tokenizer stays in the GGUF, recorded as the source."""


class Mode(StrEnum):
    """Quantization modes offered on the command line."""

    int8 = "int8"
    int4 = "int4"


def quantize(
    name: Annotated[
        str, typer.Argument(help="default model name, preset, checkpoint directory or .gguf file")
    ],
    mode: Annotated[Mode, typer.Option("--mode", help="int8 (per row) or int4 (per group)")],
    out: Annotated[Path, typer.Option("--out", help="folder to write the checkpoint to")],
    group_size: Annotated[
        int, typer.Option("--group-size", help="int4 group size: 32, 64, 128 or 256")
    ] = 32,
    evaluate: Annotated[
        bool,
        typer.Option("--eval", help="perplexity before and after on the shipped evaluation text"),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Quantize a model's weights (int8 or int4) and save them with their config."""
    from twincore.model_core.loader import load_model
    from twincore.model_core.perplexity import perplexity
    from twincore.model_core.quant import QuantMode, quantize_model, save_quantized
    from twincore.model_core.quant_linear import INT4_GROUP_SIZES

    if mode is Mode.int4 and group_size not in INT4_GROUP_SIZES:
        fail(f"--group-size must be one of {INT4_GROUP_SIZES}, got {group_size}", code=2)
    source = resolve_model_or_fail(name, load_settings())
    with console.status(f"loading {name} ..."):
        model = load_model(source.path if source.path is not None else source.name)
    eval_ids = _eval_ids(source.path) if evaluate else None
    before = None
    if eval_ids is not None:
        with console.status("perplexity of the float model ..."):
            before = perplexity(model, eval_ids)
    with console.status(f"quantizing to {mode.value} ..."):
        chosen: QuantMode = "int8" if mode is Mode.int8 else "int4"
        report = quantize_model(model, chosen, group_size=group_size)
        recorded = str(source.path.resolve()) if source.path is not None else source.name
        save_quantized(model, out, source=recorded)
    if source.path is not None and source.path.is_dir():
        for file in TOKENIZER_FILES:
            if (source.path / file).is_file():
                shutil.copy2(source.path / file, out / file)
    facts = {"model": name, "out": str(out), **report.to_dict()}
    if eval_ids is not None and before is not None:
        with console.status("perplexity of the quantized model ..."):
            after = perplexity(model, eval_ids)
        facts.update(
            eval_tokens=len(eval_ids), perplexity_float=before, perplexity_quantized=after,
            perplexity_ratio=after / before,
        )  # fmt: skip
    if json_output:
        print_json(facts)
        return
    print_facts(facts, f"quantized {name}")


EVAL_TOKENS = 2048
"""Tokens of the shipped text scored by --eval (a few seconds on the default models)."""


def _eval_ids(path: Path | None) -> list[int] | None:
    """Token ids of the evaluation text, or None (with a note) when the model has no tokenizer."""
    from twincore.model_core.perplexity import eval_text
    from twincore.model_core.tokenizer import Tokenizer

    if path is None:
        console.print("[yellow]--eval skipped: a preset has no tokenizer[/]")
        return None
    tokenizer = Tokenizer.from_gguf(path) if path.suffix == ".gguf" else Tokenizer.from_dir(path)
    return tokenizer.encode(eval_text())[:EVAL_TOKENS]
