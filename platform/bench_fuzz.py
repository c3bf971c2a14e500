"""API fuzzing: schemathesis generates requests from the platform's own OpenAPI document and
checks that no answer is a 5xx and none breaks the response schema it documents.

Every operation gets the same number of generated cases, valid ones (which reach the services'
logic) and invalid ones (which must be refused with a 4xx), derandomized so that a run is
repeatable: the seeded subset in `make test` and `twincore bench fuzz` differ only in size.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
CHECKS = [not_a_server_error, response_schema_conformance]
DELIBERATE = frozenset({503})
"""5xx answers the platform gives on purpose: 503 (with Retry-After) while a core or a tool a
service needs is unavailable, as the fuzzed platform's unreachable cores always are."""
MAX_SAMPLES = 3
"""Failure messages kept per operation: enough to reproduce, short enough to read."""


@dataclass
class OperationReport:
    """What fuzzing one operation (`POST /v1/aml/runs`) found."""

    requests: int = 0
    seconds: float = 0.0
    server_errors: int = 0
    schema_failures: int = 0
    timeouts: int = 0
    """Requests without an answer within the client's timeout (a slow model answer or a hang)."""
    statuses: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


@dataclass
class FuzzReport:
    """A whole campaign: totals and one report per operation."""

    url: str
    examples_per_operation: int
    operations: dict[str, OperationReport] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(op.requests for op in self.operations.values())

    @property
    def server_errors(self) -> int:
        return sum(op.server_errors for op in self.operations.values())

    @property
    def schema_failures(self) -> int:
        return sum(op.schema_failures for op in self.operations.values())

    @property
    def timeouts(self) -> int:
        return sum(op.timeouts for op in self.operations.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "examples_per_operation": self.examples_per_operation,
            "requests": self.requests,
            "server_errors": self.server_errors,
            "schema_failures": self.schema_failures,
            "timeouts": self.timeouts,
            "operations": {name: asdict(op) for name, op in self.operations.items()},
        }


def _record(
    report: OperationReport,
    case: schemathesis.Case[Any],
    session: requests.Session,
    timeout_s: float,
) -> None:
    try:
        response = case.call(session=session, timeout=timeout_s)
    except requests.Timeout as error:
        # Apart from the 5xx: on a busy CPU a long generation outlasts the timeout too.
        report.requests += 1
        report.timeouts += 1
        add_sample(report, f"{case.method} {case.formatted_path}: no answer in time ({error})")
        return
    except requests.RequestException as error:
        # A dropped connection is a crash seen from outside: count it with the 5xx.
        report.requests += 1
        report.server_errors += 1
        add_sample(report, f"{case.method} {case.formatted_path}: no response ({error})")
        return
    report.requests += 1
    status = str(response.status_code)
    report.statuses[status] = report.statuses.get(status, 0) + 1
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        for failure in group.exceptions:
            if isinstance(failure, ServerError) and response.status_code in DELIBERATE:
                continue
            _count(report, failure)
            add_sample(report, f"{case.method} {case.formatted_path} -> {status}: {failure.title}")
            add_sample(report, response.text[:300])


def _count(report: OperationReport, failure: Failure) -> None:
    if isinstance(failure, ServerError):
        report.server_errors += 1
    else:
        report.schema_failures += 1


def add_sample(report: OperationReport, text: str) -> None:
    """Keep `text` (what was sent, what came back) unless the operation holds enough."""
    if len(report.samples) < MAX_SAMPLES * 2:
        report.samples.append(text)


def seeded(examples: int) -> hypothesis.settings:
    """Hypothesis settings for a repeatable campaign: the same cases every run, and every case
    runs (no shrinking, no stop at the first failure) so that the report counts them all."""
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )


def fuzz_operation(
    operation: Any,
    examples: int,
    session: requests.Session,
    report: OperationReport,
    timeout_s: float = 60.0,
) -> None:
    """`examples` valid and `examples` invalid cases of one operation, each sent and checked."""
    for mode in MODES:
        strategy = operation.as_strategy(generation_mode=mode)

        @seeded(examples)
        @hypothesis.given(strategy)
        def run(case: schemathesis.Case[Any]) -> None:
            _record(report, case, session, timeout_s)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # An operation without inputs has no invalid request to generate.
            continue


def fuzz(
    url: str,
    *,
    examples: int,
    headers: dict[str, str] | None = None,
    uploads: bool = True,
    timeout_s: float = 60.0,
) -> FuzzReport:
    """Fuzz every operation of the OpenAPI document at `{url}/openapi.json` with `examples`
    valid and `examples` invalid cases each, then (`uploads`) the AML dataset upload with
    2 x `examples` generated files; a request unanswered after `timeout_s` counts as a
    timeout."""
    # The first GET builds the document for the whole app: seconds on a busy CI machine, past
    # schemathesis's 10 s default.
    schema = schemathesis.openapi.from_url(
        f"{url}/openapi.json", headers=headers or {}, timeout=timeout_s
    )
    schema.config.update(base_url=url)
    report = FuzzReport(url=url, examples_per_operation=examples)
    with requests.Session() as session:
        session.headers.update(headers or {})
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                # An operation the document describes wrongly is itself a schema failure.
                broken = report.operations.setdefault("(OpenAPI document)", OperationReport())
                broken.schema_failures += 1
                add_sample(broken, str(result.err()))
                continue
            operation = result.ok()
            op_report = report.operations.setdefault(operation.label, OperationReport())
            started = time.perf_counter()
            fuzz_operation(operation, examples, session, op_report, timeout_s)
            op_report.seconds = round(time.perf_counter() - started, 2)
        if uploads and "POST /v1/aml/datasets" in report.operations:
            # Imported here: the upload fuzzer builds on this module's report types.
            from twincore.platform.bench_fuzz_uploads import LABEL, fuzz_uploads

            op_report = report.operations.setdefault(LABEL, OperationReport())
            started = time.perf_counter()
            fuzz_uploads(url, examples * len(MODES), session, op_report)
            op_report.seconds = round(time.perf_counter() - started, 2)
    return report


@contextmanager
def in_process_platform() -> Iterator[str]:
    """The whole platform in this process over a fresh SQLite file, its cores remote ones nobody
    answers at: fuzzing exercises routes and validation, never a model. Yields its base URL."""
    from twincore.model_core.backends.openai import OpenAIBackend
    from twincore.platform.cores import CoreServer
    from twincore.platform.db.migrate import upgrade
    from twincore.platform.embedded import build_embedded_app, serve_in_background
    from twincore.platform.settings import GatewayConfig, Settings

    with tempfile.TemporaryDirectory(prefix="twincore-fuzz-") as tmp:
        root = Path(tmp)
        settings = Settings(
            data_dir=root / "var",
            database_url=f"sqlite:///{root / 'fuzz.db'}",
            # Thousands of requests from one client: 429s would stop them short of the routes.
            gateway=GatewayConfig(rate_limit_per_minute=1e9, rate_limit_burst=1_000_000),
        )
        upgrade(settings.database_url)
        # Port 9 (discard) refuses connections: every model call fails fast with a clean error.
        cores = {
            name: CoreServer.from_backend(
                OpenAIBackend(name, base_url="http://127.0.0.1:9/v1", model=name, max_retries=0)
            )
            for name in ("deep", "swift")
        }
        app, _ = build_embedded_app(settings, cores)
        with serve_in_background(app) as url:
            yield url
