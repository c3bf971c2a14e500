"""Security pieces without a gateway: session cookies, key redaction in logs, token buckets,
the CPU reservations and the batch services' lower priority."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys

import pytest

from twincore.platform.gateway.ratelimit import LocalRateLimiter, RateLimit, TokenBuckets
from twincore.platform.gateway.security import SESSION_TTL_S, _sign, read_session
from twincore.platform.logs import RedactSecretsFilter, redact_secrets
from twincore.platform.serve_options import (
    NICE_ENV,
    light_cpus,
    service_actor_options,
)

SECRET = b"unit-test-secret"
TOKEN = "tc_0a1b2c3d_Zx-9_yQ"


def test_a_session_cookie_proves_its_key_until_it_expires() -> None:
    expires = 1_000_000 + SESSION_TTL_S
    cookie = f"7.{expires}.{_sign(SECRET, 7, expires)}"
    assert read_session(cookie, SECRET, now=1_000_000) == 7
    assert read_session(cookie, SECRET, now=expires + 1) is None
    assert read_session(cookie, b"other-secret", now=1_000_000) is None
    assert read_session(cookie.replace("7.", "8.", 1), SECRET, now=1_000_000) is None
    assert read_session("garbage", SECRET) is None


def test_keys_bearers_and_sessions_are_masked_in_log_lines() -> None:
    line = f"got {TOKEN}; Authorization: Bearer sk-live-1 cookie twincore_session=7.9.ab; ok"
    masked = redact_secrets(line)
    assert TOKEN not in masked and "sk-live-1" not in masked and "7.9.ab" not in masked
    assert masked.endswith("; ok")
    record = logging.makeLogRecord({"msg": "unknown model %s", "args": (TOKEN,)})
    assert RedactSecretsFilter().filter(record)
    assert TOKEN not in record.getMessage()


def test_a_bucket_grants_its_burst_then_refills_at_its_rate() -> None:
    buckets, limit = TokenBuckets(), RateLimit(per_minute=60, burst=2)
    assert [buckets.take("k", limit, 0.0) for _ in range(2)] == [None, None]
    assert buckets.take("k", limit, 0.0) == pytest.approx(1.0)
    assert buckets.take("k", limit, 1.0) is None  # one token a second came back
    assert buckets.take("other", limit, 1.0) is None
    limiter = LocalRateLimiter(RateLimit(per_minute=1, burst=1))
    assert asyncio.run(limiter.acquire("k")) is None
    assert asyncio.run(limiter.acquire("k")) == pytest.approx(60.0, rel=0.01)
    with pytest.raises(ValueError):
        RateLimit(per_minute=0, burst=1)


def test_services_reserve_cpus_and_detection_runs_below_the_cores() -> None:
    aml = service_actor_options("aml")
    assert aml["num_cpus"] > 0 and service_actor_options("tutor")["num_cpus"] > 0
    assert aml["runtime_env"]["env_vars"]["OMP_NUM_THREADS"] == "1"
    assert "runtime_env" not in service_actor_options("tutor")
    # Beside two 1-CPU cores on a 2-CPU machine, the launcher adds one logical CPU for these.
    assert 0 < light_cpus(["aml", "codegen", "support", "tutor", "writing"], 1) <= 1


def test_lower_process_priority_renices_every_thread() -> None:
    # In a child process: an unprivileged process cannot raise its priority back.
    script = (
        "import os, threading\n"
        "from twincore.platform.serve_options import lower_process_priority\n"
        "t = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True); t.start()\n"
        "print(lower_process_priority())\n"
        "print(sorted({os.getpriority(os.PRIO_PROCESS, int(x))"
        " for x in os.listdir('/proc/self/task')}))\n"
    )
    env = {**os.environ, NICE_ENV: "7"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert out[0] == "7"
    assert out[1] == str([max(base, 7)])
