"""`twincore bench ...`: speed measured as ratios against a reference in the same run."""

from __future__ import annotations

import sys
from contextlib import redirect_stdout
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, fail, print_facts, print_json

if TYPE_CHECKING:
    from twincore.model_core.quant import QuantMode


def engine(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="model to measure (repeatable); default: the 0.5B swift, the 1.5B deep, deep-tiny",
        ),
    ] = None,
    tokens: Annotated[int, typer.Option(min=2, max=512, help="new tokens per measurement")] = 64,
    streams: Annotated[str, typer.Option(help="concurrent stream counts, comma separated")] = "1,8",
    repeats: Annotated[int, typer.Option(min=1, max=10, help="best of N batch-1 runs")] = 3,
    modes: Annotated[
        str, typer.Option(help="quantized modes, comma separated (int8 first: bandwidth share)")
    ] = "int8,int4",
    hf: Annotated[bool, typer.Option("--hf", help="also HF transformers, fp32 (slow)")] = False,
    fp32: Annotated[bool, typer.Option("--fp32", help="also our engine on fp32 weights")] = False,
    speculative: Annotated[
        bool, typer.Option(help="speculative decoding for models with a draft")
    ] = True,
    load_memory: Annotated[
        bool, typer.Option(help="peak RSS of a first (converting) and a cached load")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Batch-1 decode at int8/int4 beside llama.cpp on the same GGUF (when `make bench-peers` has
    built it), speculative decoding, concurrent streams, prefix-cache savings, ops and bytes per
    token, load memory; HF transformers and fp32 on request."""
    from twincore.model_core.bench import DEFAULT_BENCH_MODELS, BenchSettings, bench_engine

    settings = load_settings()
    counts = tuple(sorted({int(c) for c in streams.split(",") if c.strip()}))
    if not counts or min(counts) < 1:
        fail(f"--streams needs positive counts, not {streams!r}", code=2)
    chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
    if not chosen or any(m not in ("int8", "int4") for m in chosen):
        fail(f"--modes takes int8 and/or int4, not {modes!r}", code=2)
    bench = BenchSettings(
        new_tokens=tokens, streams=counts, repeats=repeats, hf=hf, fp32=fp32,
        quantized_modes=cast("tuple[QuantMode, ...]", chosen),
        speculative=speculative, load_memory=load_memory,
    )  # fmt: skip
    with console.status("benchmarking (llama.cpp, our engine int8/int4, speculative, streams) ..."):
        report = bench_engine(
            list(model or DEFAULT_BENCH_MODELS), data_dir=settings.data_dir, settings=bench
        )
    if json_output:
        print_json(report)
        return
    table = Table(
        "model", "best", "tok/s", "llama.cpp", "x llama.cpp", "spec tok/s", "8 streams", "bw %"
    )
    for name, r in report["models"].items():
        table.add_row(
            name,
            r["best_mode"],
            f"{r['best_tokens_per_s']:.1f}",
            _number(r["llamacpp_tokens_per_s"]),
            _number(r["best_vs_llamacpp"], ".2f"),
            _number(r["spec_tokens_per_s"]),
            _number(r["stream8_tokens_per_s"]),
            _number(r["bandwidth_fraction"] and 100 * r["bandwidth_fraction"], ".0f"),
        )
    console.print(table)
    for name, r in report["models"].items():
        for note in r["notes"]:
            console.print(f"[dim]{name}: {note}[/dim]")


def grammar(
    model: Annotated[str, typer.Option("--model", "-m", help="model to measure")] = (
        "smollm2-135m-instruct"
    ),
    quantization: Annotated[str, typer.Option(help="none, int8 or int4")] = "none",
    tokens: Annotated[int, typer.Option(min=8, max=512, help="new tokens per answer")] = 160,
    repeats: Annotated[int, typer.Option(min=1, max=10, help="best of N batch-1 runs")] = 3,
    streams: Annotated[int, typer.Option(min=1, max=32, help="concurrent streams")] = 8,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """What a JSON-schema constraint costs: decode ms/token free and constrained, the grammar
    mask's ms/token and its share of a decode step (goal < 10%), compile and cached compile."""
    from twincore.model_core.bench_grammar import measure_grammar

    if quantization not in ("none", "int8", "int4"):
        fail(f"--quantization takes none, int8 or int4, not {quantization!r}", code=2)
    settings = load_settings()
    with console.status(f"decoding {model} free and under a JSON schema ..."):
        report = measure_grammar(
            model, data_dir=settings.data_dir, quantization=cast("QuantMode", quantization),
            new_tokens=tokens, repeats=repeats, streams=streams,
        )  # fmt: skip
    if json_output:
        print_json(report)
        return
    print_facts(report, f"grammar-constrained decoding: {model}")


def _number(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def gateway(
    core: Annotated[str, typer.Option(help="core measured (deep or swift)")] = "swift",
    requests: Annotated[int, typer.Option(min=5, help="latency pairs")] = 60,
    streams: Annotated[int, typer.Option(min=1, help="concurrent streams")] = 8,
    duration: Annotated[float, typer.Option(min=1, help="seconds of sustained streams")] = 15.0,
    port: Annotated[int, typer.Option(help="HTTP port of the private deployment")] = 8011,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Added latency of proxy + gateway + router over a direct core-handle call (p50/p95), and
    N concurrent streams sustained for a fixed time with their error count."""
    from twincore.platform.bench_gateway import GatewayBench, bench_gateway

    if core not in ("deep", "swift"):
        fail(f"--core must be deep or swift, not {core!r}", code=2)
    settings = load_settings()
    bench = GatewayBench(core=core, requests=requests, streams=streams, duration_s=duration)
    # Ray prints its own shutdown notices on stdout; keep stdout for the report alone.
    with (
        console.status("starting Ray Serve and measuring the gateway ..."),
        redirect_stdout(sys.stderr),
    ):
        report = bench_gateway(settings, bench, port=port)
    if json_output:
        print_json(report)
        return
    print_facts(report, "gateway benchmark")
