"""`twincore bench engine --json` carries the documented keys (a small, fast configuration)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from twincore.platform.cli.main import app

KEYS = (
    "hf_tokens_per_s",
    "engine_tokens_per_s",
    "batch1_speedup_vs_hf",
    "bandwidth_fraction",
    "int8_tokens_per_s",
    "int4_tokens_per_s",
    "llamacpp_tokens_per_s",
    "stream16_tokens_per_s",
    "stream16_vs_stream1",
    "prefix_cache_prefill_reduction",
    "int8_weight_memory_ratio",
)


def test_bench_engine_json_on_deep_tiny() -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "engine",
            "--model",
            "deep-tiny",
            "--tokens",
            "4",
            "--streams",
            "1,2",
            "--repeats",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["machine"]["read_bandwidth_gbs"] > 0
    facts = report["models"]["deep-tiny"]
    for key in KEYS:
        assert key in facts
    assert facts["llamacpp_tokens_per_s"] is None  # llama-cpp-python is not a dependency
    assert facts["engine_tokens_per_s"] > 0 and facts["hf_tokens_per_s"] > 0
    assert facts["prefix_cache_prefill_reduction"] >= 1.0
    assert 0 < facts["int8_weight_memory_ratio"] < 1
