"""`twincore model info` on the published architectures, counted on the meta device."""

from __future__ import annotations

import json

import psutil
import pytest
from typer.testing import CliRunner

from twincore.platform.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("preset", "total", "total_tol", "active", "active_tol"),
    [
        ("deepseek-v3", 671e9, 0.01, 37e9, 0.03),
        ("kimi-k2", 1.03e12, 0.01, 32e9, 0.03),
        ("moonlight-16b-a3b", 16e9, 0.03, 3e9, 0.10),
    ],
)
def test_parameter_counts_of_published_models(
    preset: str, total: float, total_tol: float, active: float, active_tol: float
) -> None:
    rss_before = psutil.Process().memory_info().rss
    result = runner.invoke(app, ["model", "info", preset, "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert abs(facts["total_params"] - total) / total <= total_tol
    assert abs(facts["active_params"] - active) / active <= active_tol
    # Counted on the meta device: hundreds of GB of weights never touch memory.
    assert psutil.Process().memory_info().rss - rss_before < 2**30
    for key in ("kv_bytes_per_token_latent", "kv_bytes_per_token_mha"):
        assert isinstance(facts[key], int)


def test_deepseek_v3_latent_cache_is_61_times_576_elements() -> None:
    facts = json.loads(runner.invoke(app, ["model", "info", "deepseek-v3", "--json"]).stdout)
    assert facts["kv_elements_per_token_latent"] == 61 * (512 + 64)
    assert facts["kv_elements_per_token_mha"] == 61 * 128 * (192 + 128)
    assert facts["kv_bytes_per_token_latent"] == 61 * 576 * 2
    assert facts["routed_experts"] == 256 and facts["active_experts"] == 8


def test_table_output_and_unknown_model() -> None:
    table = runner.invoke(app, ["model", "info", "deep-tiny"])
    assert table.exit_code == 0 and "kv_bytes_per_token_latent" in table.stdout
    missing = runner.invoke(app, ["model", "info", "no-such-model"])
    assert missing.exit_code == 2 and "neither a default model" in missing.stderr
