"""`twincore bench gateway --json` deploys, measures and prints one parseable report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import free_port


def test_bench_gateway_prints_the_report_as_json(session_data_dir: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TWINCORE_DATA_DIR": str(session_data_dir),
        "TWINCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'twincore.db'}",
        "TWINCORE_CORES__DEEP__MODEL": "smollm2-135m-instruct",  # only swift is measured
        "TWINCORE_CORES__SWIFT__MODEL": "smollm2-135m-instruct",  # the tests' fast model
    }
    command = [sys.executable, "-m", "twincore", "bench", "gateway", "--json"]
    options = ["--requests", "6", "--streams", "2", "--duration", "2", "--port", str(free_port())]
    done = subprocess.run(
        command + options, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout holds the report and nothing else
    assert report["errors"] == 0
    assert report["requests"] >= 6 + report["stream_requests"] and report["stream_requests"] >= 2
    assert report["latency_pairs"] == 6
    assert report["added_latency_ms_p95"] >= report["added_latency_ms_p50"]
    assert report["gateway_ms_p50"] > 0 and report["direct_ms_p50"] > 0
    assert report["decision_ms_p95"] >= report["decision_ms_p50"] > 0
    assert report["decisions_measured"] >= 100 and report["goal_decision_ms_p50"] == 2.0
