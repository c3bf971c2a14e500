"""`twincore bench load --json` runs locust for a few seconds on a real embedded gateway (no
model: remote cores nobody answers, `--no-model-tasks`) with a tight rate limit, and reports the
429s as back-pressure with Retry-After and an unmounted service's 404s as errors. Every user's
first visit reads /healthz, /readyz, the writing styles and the AML runs, so those endpoints are
always in the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.settings import GatewayConfig, Settings
from twincore.services.aml.component import COMPONENTS as AML
from twincore.services.codegen.component import COMPONENTS as CODEGEN
from twincore.services.tutor.component import COMPONENTS as TUTOR

from .conftest import dead_core

SECONDS = 8


def test_bench_load_reports_errors_and_backpressure_apart(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # 4 users at about a request a second each against a bucket of 6/min, burst 2: 429s.
    gateway = GatewayConfig(rate_limit_per_minute=6, rate_limit_burst=2)
    settings = make_settings(gateway=gateway)
    cores = {name: dead_core(name) for name in ("deep", "swift")}
    # Writing and support (its graph daemon) are left out: their routes answer 404, errors by
    # status. No screens: the load is on the API, and building them costs seconds.
    services = [replace(c, ui=None) for c in (*AML, *CODEGEN, *TUTOR)]
    app, state = build_embedded_app(settings, cores, components=services)
    command = [sys.executable, "-m", "twincore", "bench", "load", "--json", "--no-model-tasks"]
    options = ["--users", "4", "--spawn-rate", "4", "--minutes", str(SECONDS / 60)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINCORE_")}
    try:
        with serve_in_background(app) as url:
            done = subprocess.run(
                [*command, *options, "--url", url], env=env, cwd=tmp_path,
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
    finally:
        state.log_writer.close()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    endpoints = report["endpoints"]

    assert "POST /v1/chat/completions" not in endpoints  # model tasks left out
    assert report["requests"] == sum(e["requests"] for e in endpoints.values()) > 0
    assert report["throughput_rps"] > 0
    assert all(e["p95_ms"] is not None for e in endpoints.values())

    styles = endpoints["GET /v1/writing/styles"]
    assert styles["requests"] >= 4 and styles["error_statuses"] == {"404": styles["requests"]}
    # The only errors are the unmounted service's 404s: no 5xx, no dropped connection.
    ask = endpoints.get("POST /v1/support/ask", {"requests": 0, "error_statuses": {}})
    assert ask["error_statuses"] == ({"404": ask["requests"]} if ask["requests"] else {})
    missing = styles["requests"] + ask["requests"]
    assert report["error_statuses"] == {"404": missing} and report["errors"] == missing

    pressure = report["backpressure"]
    limited = sum(e["error_statuses"].get("429", 0) for e in endpoints.values())
    assert limited == 0  # a 429 is never an error
    assert pressure["statuses"].get("429", 0) > 0
    # Every 429 names its Retry-After; /readyz's 503 (no core answers) does not.
    readyz = endpoints["GET /readyz"]
    assert pressure["statuses"].get("503", 0) == readyz["backpressure"] == readyz["requests"]
    assert pressure["retry_after"] == pressure["statuses"]["429"]
    assert pressure["without_retry_after"] == readyz["requests"]
    assert pressure["requests"] == pressure["statuses"]["429"] + readyz["requests"]
    for name, endpoint in endpoints.items():
        assert endpoint["failures"] == endpoint["errors"] + endpoint["backpressure"], name
