"""The locustfile of `twincore bench load`: one simulated user's mix of the five services and
the OpenAI API through the gateway, with think time.

Locust loads this file by path in its own process (`python -m locust -f ...`, started by
`platform/bench_load.py`): it imports only the standard library and locust, never twincore,
because locust monkey-patches the process with gevent. Tasks tagged `model` call a core; a run
with `--exclude-tags model` drives only the endpoints that answer without one.

Every non-2xx answer is a locust failure whose message starts with `HTTP <status>`, and a 429
or 503 one names its Retry-After header (`backpressure` marker): the report tells deliberate
back-pressure from errors by these messages (`platform/bench_load.py`).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from locust import HttpUser, between, events, tag, task
from locust.clients import ResponseContextManager
from locust.env import Environment

T = TypeVar("T")
BACKPRESSURE_STATUSES = (429, 503)
API_KEY_ENV = "TWINCORE_LOAD_API_KEY"
ERRORS_FILE_ENV = "TWINCORE_LOAD_ERRORS_FILE"

ORDER_IDS = (10248, 10249, 10250, 10251, 10252, 10253, 10254, 10255)
EQUATIONS = (
    ("2x + 3 = 7", ["2x = 4", "x = 2"]),
    ("3x + 7 = 22", ["3x = 15", "x = 5"]),
    ("x^2 - 5x + 6 = 0", ["(x - 2)(x - 3) = 0", "x = 2 or x = 3"]),
)
PROGRAM = "def add(a, b):\n    return a + b\n"
PROGRAM_TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
CHAT_PROMPTS = ("Say hello in one word.", "Name a primary colour.", "What is 2 + 2?")
TOPICS = ("the sea at dawn", "a quiet library", "autumn leaves")


def pick(options: Sequence[T]) -> T:
    return random.choice(options)  # noqa: S311 - a request mix, not a secret


def verdict(status: int, retry_after: str | None, error: object) -> str | None:
    """The failure message of one answer, or None for a 2xx."""
    if 200 <= status < 300:
        return None
    if status in BACKPRESSURE_STATUSES:
        return f"HTTP {status} backpressure ({'retry-after' if retry_after else 'no retry-after'})"
    if status == 0:  # no answer at all: refused, reset, or timed out
        return f"HTTP 0 no response: {type(error).__name__}"
    return f"HTTP {status}"


def judge(response: ResponseContextManager) -> None:
    """Mark one answer a success, or a failure named by its status."""
    message = verdict(response.status_code, response.headers.get("Retry-After"), response.error)
    # locust leaves these two untyped
    if message is None:
        response.success()  # type: ignore[no-untyped-call]
    else:
        response.failure(message)  # type: ignore[no-untyped-call]


class PlatformUser(HttpUser):
    """A user who spreads requests over every service, pausing 1-3 s between them."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        key = os.environ.get(API_KEY_ENV)
        if key:
            self.client.headers["Authorization"] = f"Bearer {key}"
        self.style_ids: list[str] = []
        self.run_ids: list[int] = []
        # A first visit, as a client opening the app: liveness, readiness, what there is.
        self.health()
        self.writing_styles()
        self.aml_reads()

    def call(self, method: str, path: str, name: str | None = None, **kwargs: Any) -> Any:
        """One request, its stats grouped under `name` (default: the path); the parsed JSON
        body on success, else None."""
        kwargs.setdefault("timeout", 120)
        name = name or path
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as r:
            judge(r)
            if 200 <= r.status_code < 300 and "json" in r.headers.get("content-type", ""):
                return r.json()
        return None

    @task(2)
    def health(self) -> None:
        self.call("GET", "/healthz")
        self.call("GET", "/readyz")

    @tag("model")
    @task(3)
    def chat(self) -> None:
        body = {
            "model": "swift",
            "messages": [{"role": "user", "content": pick(CHAT_PROMPTS)}],
            "max_tokens": 16,
        }
        self.call("POST", "/v1/chat/completions", json=body)

    @task(3)
    def support_ask(self) -> None:
        question = f"What is the status of order {pick(ORDER_IDS)}?"
        self.call("POST", "/v1/support/ask", json={"question": question})

    @task(3)
    def tutor(self) -> None:
        problem, steps = pick(EQUATIONS)
        self.call("POST", "/v1/tutor/check", json={"problem": problem, "steps": steps})
        hint = {"problem": problem, "steps": steps[:1], "level": 1}
        self.call("POST", "/v1/tutor/hint", json=hint)

    @task(2)
    def writing_styles(self) -> None:
        styles = self.call("GET", "/v1/writing/styles")
        if styles:
            self.style_ids = [s["id"] for s in styles if "id" in s]

    @tag("model")
    @task(1)
    def writing_compose(self) -> None:
        body = {
            "style": pick(self.style_ids or ["haiku"]),
            "topic": pick(TOPICS),
            "model": "swift",
            "candidates": 1,
            "revise": False,
            "max_tokens": 32,
        }
        self.call("POST", "/v1/writing/compose", json=body)

    @task(2)
    def codegen_run(self) -> None:
        body = {"language": "python", "code": PROGRAM, "tests": PROGRAM_TESTS}
        self.call("POST", "/v1/codegen/run", json=body)

    @task(3)
    def aml_reads(self) -> None:
        self.call("GET", "/v1/aml/datasets")
        runs = self.call("GET", "/v1/aml/runs")
        if runs:
            self.run_ids = [r["id"] for r in runs if "id" in r]
        if not self.run_ids:
            return  # no detection run yet: nothing to read alerts of
        run_id = pick(self.run_ids)
        alerts = self.call("GET", f"/v1/aml/runs/{run_id}/alerts", "/v1/aml/runs/[id]/alerts")
        if alerts:
            alert = pick(alerts)
            if "id" in alert:
                self.call("GET", f"/v1/aml/alerts/{alert['id']}", "/v1/aml/alerts/[id]")


def save_errors(environment: Environment, **_kwargs: Any) -> None:
    """Write locust's error table (method, name, message, occurrences) beside its `--json-file`
    stats, which leave the errors out, for the report to count by status."""
    path = os.environ.get(ERRORS_FILE_ENV)
    if path and environment.runner is not None:
        errors = environment.runner.stats.serialize_errors()
        Path(path).write_text(json.dumps(errors), encoding="utf-8")


events.quitting.add_listener(save_errors)  # type: ignore[no-untyped-call]
