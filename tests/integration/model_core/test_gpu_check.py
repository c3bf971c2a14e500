"""tools/gpu_check.sh: the CPU dry run measures through the engine and writes $OUT/gpu_check.json;
asked for CUDA where there is none, it fails with a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[3] / "tools" / "gpu_check.sh"


def _run(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_cpu_dry_run_writes_the_report(tmp_path: Path) -> None:
    done = _run(
        "--device", "cpu", "--tiny", "--layers", "2", "--tokens", "6", "--streams", "3",
        "--prompt-tokens", "40", "--repeats", "1", out=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report == json.loads(done.stdout)
    assert report["device"] == "cpu" and report["dtype"] == "bfloat16"
    assert "moonlight-16b-a3b shapes, 2 layers" in report["model"]
    assert report["prompt_tokens"] == 40 and report["prefill_tokens_per_s"] > 0
    assert set(report["decode_tokens_per_s"]) == {"1", "3"}
    assert all(rate > 0 for rate in report["decode_tokens_per_s"].values())
    assert report["peak_memory_gb"] is None  # only CUDA reports device memory
    assert "CUDA available: False" in done.stderr or "CUDA available: True" in done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_fails_with_a_reason(tmp_path: Path) -> None:
    done = _run("--tiny", "--layers", "1", out=tmp_path)
    assert done.returncode == 2
    assert "CUDA is not available" in done.stderr
    assert not (tmp_path / "gpu_check.json").exists()
