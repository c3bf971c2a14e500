"""The `bench load` report from locust's recorded output, its command line, the queue gauges
of /metrics, and the rule that the platform process never imports locust (gevent)."""

from __future__ import annotations

import json
import subprocess
import sys

from twincore.platform.bench_load import (
    LOCUSTFILE,
    LoadPlan,
    build_report,
    error_status,
    locust_command,
    percentile,
    queue_gauges,
)

# Recorded from a real run (4 users, 8 s) on an embedded gateway with rate limit 6/min, burst 2,
# remote cores nobody answers and the writing service not mounted; five endpoints kept.
STATS = json.loads("""[
 {"name": "/healthz", "method": "GET", "start_time": 1796590238.365274,
  "last_request_timestamp": 1796590244.9534044, "num_requests": 7, "num_failures": 0,
  "total_response_time": 195.98122999013867, "max_response_time": 46.69938699953491,
  "response_times": {"38": 1, "39": 1, "41": 1, "47": 1, "14": 1, "8": 1, "9": 1}},
 {"name": "/readyz", "method": "GET", "start_time": 1796590238.7407556,
  "last_request_timestamp": 1796590245.0778062, "num_requests": 7, "num_failures": 7,
  "total_response_time": 2075.610514017171, "max_response_time": 571.2265420006588,
  "response_times": {"380": 3, "570": 1, "130": 1, "120": 2}},
 {"name": "/v1/writing/styles", "method": "GET", "start_time": 1796590238.9131587,
  "last_request_timestamp": 1796590245.181266, "num_requests": 6, "num_failures": 6,
  "total_response_time": 577.2476970087155, "max_response_time": 196.06616900273366,
  "response_times": {"170": 1, "180": 1, "200": 1, "4": 1, "9": 1, "15": 1}},
 {"name": "/v1/aml/datasets", "method": "GET", "start_time": 1796590238.9579918,
  "last_request_timestamp": 1796590242.0075235, "num_requests": 7, "num_failures": 5,
  "total_response_time": 216.23772399470909, "max_response_time": 57.98450300062541,
  "response_times": {"44": 2, "58": 1, "41": 1, "4": 1, "5": 1, "20": 1}},
 {"name": "/v1/tutor/check", "method": "POST", "start_time": 1796590240.7964318,
  "last_request_timestamp": 1796590240.7964468, "num_requests": 1, "num_failures": 1,
  "total_response_time": 21.740827003668528, "max_response_time": 21.740827003668528,
  "response_times": {"22": 1}}
]""")
ERRORS = [
    {"name": "/readyz", "method": "GET", "occurrences": 7,
     "error": "CatchResponseError('HTTP 503 backpressure (no retry-after)')"},
    {"name": "/v1/writing/styles", "method": "GET", "occurrences": 6,
     "error": "CatchResponseError('HTTP 404')"},
    {"name": "/v1/aml/datasets", "method": "GET", "occurrences": 5,
     "error": "CatchResponseError('HTTP 429 backpressure (retry-after)')"},
    {"name": "/v1/tutor/check", "method": "POST", "occurrences": 1,
     "error": "CatchResponseError('HTTP 429 backpressure (retry-after)')"},
]  # fmt: skip
# Recorded against a port nobody listens on.
REFUSED = "CatchResponseError('HTTP 0 no response: ConnectionError')"


def test_report_counts_errors_and_backpressure_apart() -> None:
    report = build_report(STATS, ERRORS, wall_s=10.0)
    assert report["requests"] == 28
    assert report["errors"] == 6 and report["error_statuses"] == {"404": 6}
    assert report["backpressure"] == {
        "requests": 13,
        "statuses": {"429": 6, "503": 7},
        "retry_after": 6,
        "without_retry_after": 7,
    }
    # 28 requests between the first start (…238.37) and the last request (…245.18): 6.8 s.
    assert report["duration_s"] == 6.8
    assert report["throughput_rps"] == round(28 / (1796590245.181266 - 1796590238.365274), 2)


def test_report_per_endpoint() -> None:
    endpoints = build_report(STATS, ERRORS, wall_s=10.0)["endpoints"]
    assert list(endpoints) == [  # sorted by path
        "GET /healthz", "GET /readyz", "GET /v1/aml/datasets", "POST /v1/tutor/check",
        "GET /v1/writing/styles",
    ]  # fmt: skip
    health = endpoints["GET /healthz"]
    assert (health["requests"], health["failures"], health["errors"]) == (7, 0, 0)
    assert (health["p50_ms"], health["p95_ms"], health["p99_ms"]) == (38.0, 47.0, 47.0)
    assert health["avg_ms"] == 28.0 and health["error_statuses"] == {}
    aml = endpoints["GET /v1/aml/datasets"]
    assert (aml["requests"], aml["failures"], aml["errors"], aml["backpressure"]) == (7, 5, 0, 5)
    assert aml["error_statuses"] == {}  # 429 is back-pressure, not an error
    styles = endpoints["GET /v1/writing/styles"]
    assert styles["error_statuses"] == {"404": 6} and styles["p95_ms"] == 200.0
    assert endpoints["GET /readyz"]["backpressure"] == 7


def test_refused_connections_are_errors_with_status_0() -> None:
    errors = [{"name": "/healthz", "method": "GET", "occurrences": 3, "error": REFUSED}]
    report = build_report(STATS[:1], errors, wall_s=10.0)
    assert report["errors"] == 3 and report["error_statuses"] == {"0": 3}
    assert report["backpressure"]["requests"] == 0


def test_model_endpoints_stay_out_of_the_non_model_p95() -> None:
    chat = {
        **STATS[0], "name": "/v1/chat/completions", "method": "POST",
        "response_times": {"5000": 7},
    }  # fmt: skip
    report = build_report([STATS[0], chat], [], wall_s=10.0)
    assert report["endpoints"]["POST /v1/chat/completions"]["p95_ms"] == 5000.0
    assert report["non_model_p95_ms"] == 47.0


def test_an_empty_run_reports_zeros() -> None:
    report = build_report([], [], wall_s=5.0)
    assert report["requests"] == 0 and report["throughput_rps"] == 0.0
    assert report["endpoints"] == {} and report["non_model_p95_ms"] is None


def test_percentile_of_a_histogram() -> None:
    histogram = {"10": 90, "200": 9, "1000": 1}
    assert percentile(histogram, 0.5) == 10.0
    assert percentile(histogram, 0.95) == 200.0
    assert percentile(histogram, 0.99) == 200.0
    assert percentile(histogram, 1.0) == 1000.0
    assert percentile({}, 0.5) is None


def test_error_status() -> None:
    assert error_status("CatchResponseError('HTTP 503 backpressure (retry-after)')") == 503
    assert error_status("CatchResponseError('HTTP 404')") == 404
    assert error_status(REFUSED) == 0
    assert error_status("RemoteDisconnected('closed')") == 0


def test_locust_command() -> None:
    plan = LoadPlan(url="http://127.0.0.1:8123/", users=5, minutes=0.5, spawn_rate=0.5)
    command = locust_command(plan, out_dir=LOCUSTFILE.parent)
    assert command[:3] == [sys.executable, "-m", "locust"] and LOCUSTFILE.is_file()

    def option(flag: str) -> str:
        return command[command.index(flag) + 1]

    assert option("-f") == str(LOCUSTFILE) and option("--host") == "http://127.0.0.1:8123"
    assert option("--run-time") == "30s" and option("--users") == "5"
    assert option("--spawn-rate") == "0.5" and option("--exit-code-on-error") == "0"
    assert "--headless" in command and "--exclude-tags" not in command
    no_model = locust_command(LoadPlan("http://x", 1, 1, 1, model_tasks=False), LOCUSTFILE.parent)
    assert no_model[-2:] == ["--exclude-tags", "model"]


def test_queue_gauges_sum_labels_and_skip_counters() -> None:
    text = (
        "# TYPE serve_queued_requests gauge\n"
        'serve_queued_requests{replica="a"} 3\n'
        'serve_queued_requests{replica="b"} 2\n'
        "# TYPE twincore_requests counter\n"
        'twincore_requests_total{endpoint="x"} 9\n'
        "# TYPE twincore_in_flight gauge\n"
        "twincore_in_flight 1\n"
    )
    assert queue_gauges(text) == {"serve_queued_requests": 5.0, "twincore_in_flight": 1.0}


def test_the_platform_process_never_imports_locust() -> None:
    # gevent's monkey-patching would break asyncio and Ray: locust runs in its own process.
    code = (
        "import sys, twincore.platform.bench_load, twincore.platform.cli.main; "
        "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
