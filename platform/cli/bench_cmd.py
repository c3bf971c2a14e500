"""`twincore bench ...`: speed measured as ratios against a reference in the same run."""

from __future__ import annotations

import sys
from contextlib import redirect_stdout
from typing import Annotated

import typer
from rich.table import Table

from twincore.platform.cli.context import load_settings
from twincore.platform.cli.output import console, fail, print_facts, print_json


def engine(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="model to measure (repeatable); default: both default models and deep-tiny",
        ),
    ] = None,
    tokens: Annotated[int, typer.Option(min=2, max=512, help="new tokens per measurement")] = 32,
    streams: Annotated[
        str, typer.Option(help="concurrent stream counts, comma separated")
    ] = "1,4,8,16",
    repeats: Annotated[int, typer.Option(min=1, max=10, help="best of N batch-1 runs")] = 3,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Batch-1 decode, time to first token, concurrent streams, prefix-cache savings, int8/int4,
    against HF transformers (and llama.cpp when llama-cpp-python is installed)."""
    from twincore.model_core.bench import DEFAULT_BENCH_MODELS, BenchSettings, bench_engine

    settings = load_settings()
    counts = tuple(sorted({int(c) for c in streams.split(",") if c.strip()}))
    bench = BenchSettings(new_tokens=tokens, streams=counts, repeats=repeats)
    with console.status("benchmarking (HF transformers, our engine fp32/int8/int4, streams) ..."):
        report = bench_engine(
            list(model or DEFAULT_BENCH_MODELS), data_dir=settings.data_dir, settings=bench
        )
    if json_output:
        print_json(report)
        return
    table = Table(
        "model", "HF tok/s", "engine tok/s", "speedup", "int8", "int4", "16 streams", "prefix x"
    )
    for name, r in report["models"].items():
        table.add_row(
            name,
            f"{r['hf_tokens_per_s']:.1f}",
            f"{r['engine_tokens_per_s']:.1f}",
            f"{r['batch1_speedup_vs_hf']:.2f}",
            f"{r['int8_tokens_per_s']:.1f}",
            f"{r['int4_tokens_per_s']:.1f}",
            f"{r['stream16_tokens_per_s'] or 0:.1f}",
            f"{r['prefix_cache_prefill_reduction']:.1f}",
        )
    console.print(table)


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
