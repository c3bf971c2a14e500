"""`twincore bench engine --json` carries the documented keys (small, fast configurations), and
measures llama.cpp beside our engine when `make bench-peers` has built it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from twincore.model_core.bench_peers import PEERS_DIR_ENV, llamacpp_rates, peers_python
from twincore.platform.cli.main import app

KEYS = (
    "hf_tokens_per_s",
    "engine_tokens_per_s",
    "batch1_speedup_vs_hf",
    "bandwidth_fraction",
    "int8_tokens_per_s",
    "int4_tokens_per_s",
    "best_mode",
    "best_tokens_per_s",
    "best_vs_llamacpp",
    "llamacpp_tokens_per_s",
    "spec_tokens_per_s",
    "spec_acceptance",
    "ops_per_token",
    "first_load_peak_rss_mb",
    "load_peak_rss_mb",
    "streams_tokens_per_s",
    "stream8_tokens_per_s",
    "streams_vs_llamacpp_batch1",
    "stream16_tokens_per_s",
    "stream16_vs_stream1",
    "prefix_cache_prefill_reduction",
    "int8_weight_memory_ratio",
    "int8_bytes_per_token",
)


def _bench(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["bench", "engine", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_bench_engine_json_on_deep_tiny() -> None:
    report = _bench(
        "--model", "deep-tiny", "--tokens", "4", "--streams", "1,2", "--repeats", "1",
        "--hf", "--fp32",
    )  # fmt: skip
    assert report["machine"]["read_bandwidth_gbs"] > 0
    facts = report["models"]["deep-tiny"]
    for key in KEYS:
        assert key in facts
    notes = " ".join(facts["notes"])
    assert facts["llamacpp_tokens_per_s"] is None and "no GGUF" in notes
    assert facts["best_vs_llamacpp"] is None
    assert facts["engine_tokens_per_s"] > 0 and facts["hf_tokens_per_s"] > 0
    assert facts["int8_tokens_per_s"] > 0 and facts["int4_tokens_per_s"] > 0
    assert facts["best_tokens_per_s"] == max(
        facts["engine_tokens_per_s"], facts["int8_tokens_per_s"], facts["int4_tokens_per_s"]
    )
    assert set(facts["streams_tokens_per_s"]) == {"1", "2"}
    assert facts["stream8_tokens_per_s"] is None  # 8 streams were not asked for
    # deep-tiny drafts with its own MTP module; greedy output is plain greedy's, token for token.
    assert facts["spec_draft"] == "mtp" and facts["spec_tokens_per_s"] > 0
    assert facts["spec_matches_plain_greedy"] is True
    assert facts["first_load_peak_rss_mb"] is None and "preset" in notes
    assert facts["prefix_cache_prefill_reduction"] >= 1.0
    assert 0 < facts["int8_weight_memory_ratio"] < 1
    # A token reads 2 of 8 routed experts and one embedding row: less than the whole model.
    assert 0 < facts["int8_bytes_per_token"] < facts["int8_weight_bytes"]
    assert facts["bandwidth_fraction"] > 0
    if importlib.util.find_spec("twincore.model_core.opcount") is not None:
        assert facts["ops_per_token"] > 0
    else:
        assert facts["ops_per_token"] is None and "opcount" in notes


def test_llamacpp_is_null_with_a_reason_without_peers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path / "no-peers"))
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    result = llamacpp_rates(gguf, prompt=[1, 2], threads=1, new_tokens=2, repeats=1)
    assert result.figures is None
    assert result.reason is not None and "make bench-peers" in result.reason


@pytest.mark.skipif(
    peers_python() is None, reason="llama.cpp is not built here: run `make bench-peers`"
)
def test_bench_engine_measures_llamacpp_on_the_same_gguf() -> None:
    report = _bench(
        "--model", "smollm2-135m-instruct", "--modes", "int8", "--tokens", "8", "--streams", "1",
        "--repeats", "1", "--no-speculative", "--no-load-memory",
    )  # fmt: skip
    facts = report["models"]["smollm2-135m-instruct"]
    assert facts["llamacpp_tokens_per_s"] > 0 and facts["llamacpp_ttft_s"] > 0
    assert facts["best_vs_llamacpp"] == facts["int8_tokens_per_s"] / facts["llamacpp_tokens_per_s"]
    # Same GGUF, same prompt tokens, greedy: llama.cpp and our int8 engine agree on the first token.
    assert facts["llamacpp_greedy_prefix_agreement"] >= 1
