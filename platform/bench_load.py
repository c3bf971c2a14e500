"""`twincore bench load`: many simulated users on a running gateway, reported per endpoint.

The load comes from Locust (https://locust.io), a maintained load generator whose users are
plain Python classes (`platform/bench_load_users.py`), with ramp-up (spawn rate), think time
and per-endpoint response-time histograms. It runs as a separate process: locust monkey-patches
its process with gevent, which would break asyncio and Ray here, so this module never imports
it. Locust writes its stats (`--json-file`) and the locustfile its error table; this module
turns both into the report: per endpoint requests, failures, p50/p95/p99, error counts by
status, throughput, and the back-pressure met (429/503, with or without Retry-After), which is
counted apart from errors. Meanwhile the gateway's `/metrics` (queue gauges) and `/readyz`
(requests waiting for each core) are polled for the deepest queue seen.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

LOCUSTFILE = Path(__file__).with_name("bench_load_users.py")
BACKPRESSURE_STATUSES = frozenset({429, 503})
# Endpoints whose answer a core writes; the goal "p95 < 200 ms" is for the others.
MODEL_ENDPOINTS = frozenset({"POST /v1/chat/completions", "POST /v1/writing/compose"})
# Gauges of /metrics that read as a queue: waiting or in-flight requests.
QUEUE_METRIC = re.compile(r"queue|in_?flight|ongoing|pending|waiting", re.IGNORECASE)
STATUS = re.compile(r"HTTP (\d{1,3})\b")
SCRAPE_INTERVAL_S = 2.0
STOP_TIMEOUT_S = 10  # users finish the request in hand after the run time


@dataclass(frozen=True)
class LoadPlan:
    """What to run: users ramped up at `spawn_rate` per second, for `minutes`, on `url`."""

    url: str
    users: int
    minutes: float
    spawn_rate: float
    api_key: str | None = None
    model_tasks: bool = True
    """False: leave out the tasks tagged `model` (chat, compose)."""

    @property
    def run_time_s(self) -> int:
        return max(1, round(self.minutes * 60))


def locust_command(plan: LoadPlan, out_dir: Path) -> list[str]:
    """The headless locust command line writing its stats to `out_dir/stats.json`."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", plan.url.rstrip("/"), "--users", str(plan.users),
        "--spawn-rate", f"{plan.spawn_rate:g}", "--run-time", f"{plan.run_time_s}s",
        "--stop-timeout", str(STOP_TIMEOUT_S), "--json-file", str(out_dir / "stats"),
        "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING",
        "--logfile", str(out_dir / "locust.log"),
    ]  # fmt: skip
    if not plan.model_tasks:
        command += ["--exclude-tags", "model"]
    return command


def run_load(plan: LoadPlan) -> dict[str, Any]:
    """Run locust on `plan` while watching the gateway's queue gauges; the report."""
    with tempfile.TemporaryDirectory(prefix="twincore-load-") as folder:
        out_dir = Path(folder)
        env = {**os.environ, "TWINCORE_LOAD_ERRORS_FILE": str(out_dir / "errors.json")}
        if plan.api_key:
            env["TWINCORE_LOAD_API_KEY"] = plan.api_key
        watcher = QueueWatcher(plan.url, plan.api_key)
        watcher.start()
        started = time.monotonic()
        try:
            done = subprocess.run(  # noqa: S603 - our own argument list, no shell
                locust_command(plan, out_dir), env=env, capture_output=True, text=True,
                timeout=plan.run_time_s + STOP_TIMEOUT_S + 120, check=False,
            )  # fmt: skip
        finally:
            watcher.stop()
        wall_s = time.monotonic() - started
        stats_file, errors_file = out_dir / "stats.json", out_dir / "errors.json"
        if done.returncode != 0 or not stats_file.exists():
            log = (out_dir / "locust.log").read_text() if (out_dir / "locust.log").exists() else ""
            raise RuntimeError(f"locust failed ({done.returncode}): {(done.stderr + log)[-2000:]}")
        stats = json.loads(stats_file.read_text())
        errors = json.loads(errors_file.read_text()) if errors_file.exists() else {}
    report = build_report(stats, errors.values(), wall_s=wall_s)
    report.update(
        url=plan.url, users=plan.users, minutes=plan.minutes, spawn_rate=plan.spawn_rate,
        model_tasks=plan.model_tasks, queue=watcher.summary(),
    )  # fmt: skip
    return report


def error_status(message: str) -> int:
    """The HTTP status a locust error message names; 0 when the server gave no answer."""
    match = STATUS.search(message)
    return int(match.group(1)) if match else 0


def percentile(histogram: Mapping[str, int] | Mapping[int, int], q: float) -> float | None:
    """The `q` quantile (0..1) of locust's response-time histogram {ms: count}, in ms."""
    counts = sorted((float(ms), n) for ms, n in histogram.items())
    total = sum(n for _, n in counts)
    if total == 0:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for ms, n in counts:
        seen += n
        if seen >= rank:
            return ms
    return counts[-1][0]


def build_report(
    stats: Iterable[Mapping[str, Any]], errors: Iterable[Mapping[str, Any]], *, wall_s: float
) -> dict[str, Any]:
    """The report from locust's stats entries and error table (see module docstring)."""
    stats = list(stats)
    by_endpoint: dict[str, Counter[int]] = {}
    retry_after = Counter[str]()
    for error in errors:
        name, status = f"{error['method']} {error['name']}", error_status(error["error"])
        by_endpoint.setdefault(name, Counter())[status] += error["occurrences"]
        if status in BACKPRESSURE_STATUSES:
            seen = "no retry-after" not in error["error"]
            retry_after["with" if seen else "without"] += error["occurrences"]
    endpoints = {}
    pooled = Counter[str]()
    for entry in sorted(stats, key=lambda e: (e["name"], e["method"])):
        name = f"{entry['method']} {entry['name']}"
        endpoints[name] = _endpoint(entry, by_endpoint.get(name, Counter()))
        if name not in MODEL_ENDPOINTS:
            pooled.update({str(k): v for k, v in entry["response_times"].items()})
    statuses = sum(by_endpoint.values(), Counter[int]())
    span = [(e["start_time"], e["last_request_timestamp"]) for e in stats]
    duration_s = max(b for _, b in span) - min(a for a, _ in span) if span else 0.0
    requests = sum(e["num_requests"] for e in stats)
    return {
        "requests": requests,
        "errors": sum(n for s, n in statuses.items() if s not in BACKPRESSURE_STATUSES),
        "error_statuses": _by_status(statuses, errors=True),
        "throughput_rps": round(requests / (duration_s or wall_s or 1.0), 2),
        "duration_s": round(duration_s, 1),
        "non_model_p95_ms": percentile(pooled, 0.95),
        "backpressure": {
            "requests": sum(n for s, n in statuses.items() if s in BACKPRESSURE_STATUSES),
            "statuses": _by_status(statuses, errors=False),
            "retry_after": retry_after["with"],
            "without_retry_after": retry_after["without"],
        },
        "endpoints": endpoints,
    }


def _endpoint(entry: Mapping[str, Any], statuses: Counter[int]) -> dict[str, Any]:
    histogram, count = entry["response_times"], entry["num_requests"]
    return {
        "requests": count,
        "failures": entry["num_failures"],
        "errors": sum(n for s, n in statuses.items() if s not in BACKPRESSURE_STATUSES),
        "backpressure": sum(n for s, n in statuses.items() if s in BACKPRESSURE_STATUSES),
        "error_statuses": _by_status(statuses, errors=True),
        "p50_ms": percentile(histogram, 0.50),
        "p95_ms": percentile(histogram, 0.95),
        "p99_ms": percentile(histogram, 0.99),
        "avg_ms": round(entry["total_response_time"] / count, 1) if count else None,
        "max_ms": round(entry["max_response_time"], 1),
    }


def _by_status(statuses: Counter[int], *, errors: bool) -> dict[str, int]:
    return {
        str(s): n
        for s, n in sorted(statuses.items())
        if (s not in BACKPRESSURE_STATUSES) == errors and n
    }


def queue_gauges(text: str) -> dict[str, float]:
    """Per metric family whose name reads as a queue, its value summed over labels."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.type in ("gauge", "untyped") and QUEUE_METRIC.search(family.name):
            found[family.name] = sum(sample.value for sample in family.samples)
    return found


def core_waiting(readyz: Mapping[str, Any]) -> dict[str, float]:
    """Requests waiting for each core, from a /readyz body (`core_waiting:<core>`)."""
    cores = readyz.get("cores") or {}
    return {
        f"core_waiting:{name}": float(core["waiting"])
        for name, core in cores.items()
        if isinstance(core, Mapping) and isinstance(core.get("waiting"), int | float)
    }


class QueueWatcher:
    """Scrapes `<url>/metrics` and `/readyz` every few seconds on a thread; keeps the max of
    each queue gauge and of each core's waiting requests."""

    def __init__(self, url: str, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="load-metrics", daemon=True)
        self.scrapes = 0
        self.maxima: dict[str, float] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._client.close()

    def summary(self) -> dict[str, Any]:
        return {
            "exposed": bool(self.maxima),
            "scrapes": self.scrapes,
            "max_depth": max(self.maxima.values()) if self.maxima else None,
            "gauges": dict(sorted(self.maxima.items())),
        }

    def _watch(self) -> None:
        while not self._stop.is_set():
            # An overloaded gateway may not answer, or not in JSON: the load goes on.
            with suppress(httpx.HTTPError, ValueError, AttributeError):
                self._scrape()
            self._stop.wait(SCRAPE_INTERVAL_S)

    def _scrape(self) -> None:
        found: dict[str, float] = {}
        metrics = self._client.get("/metrics")
        if metrics.status_code == 200:
            found.update(queue_gauges(metrics.text))
        # /readyz answers JSON with each core's `waiting` requests, 200 or 503 alike.
        found.update(core_waiting(self._client.get("/readyz").json()))
        self.scrapes += 1
        for name, value in found.items():
            self.maxima[name] = max(value, self.maxima.get(name, value))
