"""The console's tables (core health, decisions from every caller, the evaluation file), a
stopped screen call's row, and the background evaluation job."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from twincore.apps.console_eval import EvalJob
from twincore.apps.console_tables import (
    NO_EVALUATION,
    SWEEP,
    core_table,
    decision_table,
    read_evaluation,
    service_table,
)
from twincore.platform.db import create_db_engine, session_factory
from twincore.platform.db.migrate import upgrade
from twincore.platform.gateway.service_tracking import CANCELLED, TrackedServiceClient
from twincore.platform.gateway.tracking import RequestLogWriter
from twincore.platform.requestlog import recent_requests
from twincore.platform.settings import Settings

NOW = datetime.now(UTC)

CORE_HEALTH = {
    "ok": True,
    "cores": {
        "deep": {"core": "deep", "ok": True, "running": 1, "waiting": 0},
        "swift": {"core": "swift", "ok": False, "error": "ConnectionError: refused"},
    },
}


def test_core_table_without_the_router_view() -> None:
    table = core_table(CORE_HEALTH)
    assert list(table["core"]) == ["deep", "swift"]
    assert list(table.columns) == ["core", "ok", "running", "waiting", "error"]
    assert table.loc[1, "running"] == "" and table.loc[1, "error"].startswith("ConnectionError")


def test_core_table_with_the_router_view() -> None:
    router = {
        "deep": {"inflight": 2, "ms_per_token": 35.04, "ttft_ms": None, "cooling": False},
        "swift": {"inflight": 0, "ms_per_token": None, "ttft_ms": 80.0, "cooling": True},
    }
    table = core_table({**CORE_HEALTH, "router": {"cores": router}})
    assert {"inflight", "ms_per_token", "ttft_ms", "cooling"} <= set(table.columns)
    assert table.loc[0, "ms_per_token"] == 35.0 and table.loc[0, "ttft_ms"] == ""
    assert bool(table.loc[1, "cooling"]) is True
    assert core_table({}).empty


def test_decision_table_says_who_asked_and_how_it_ended() -> None:
    failed = {
        "time": NOW, "model": "auto", "core": None, "reason": None,
        "error": "no core could serve the request", "fallback": False, "status": 503,
        "latency_ms": 12.6, "prompt_tokens": 4, "completion_tokens": 0,
    }  # fmt: skip
    table = decision_table([failed])
    assert table.loc[0].tolist() == [
        f"today {NOW:%H:%M}", "API", "auto", "", "", "",
        "failed (503): no core could serve the request", "4/0", "0.0 s",
    ]  # fmt: skip
    # Rows logged before stopped calls had a reason read "CancelledError: " with no core.
    legacy = {**failed, "status": 500, "error": "CancelledError: ", "service": "writing"}
    assert decision_table([legacy]).loc[0, "outcome"] == CANCELLED


def test_a_service_answer_shows_its_service_and_attempts() -> None:
    attempts = [
        {"step": "first", "core": "swift", "verdict": "fail"},
        {"step": "other", "core": "deep", "verdict": "pass"},
    ]
    row = {
        "time": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "model": None, "core": "deep", "reason": None, "error": None, "fallback": False,
        "status": 200, "latency_ms": 900.0, "prompt_tokens": 0, "completion_tokens": 40,
        "service": "support", "source": "ui", "attempts": attempts, "verified": True,
    }  # fmt: skip
    table = decision_table([row])
    assert table.loc[0, "when"] == "2 Jan 2025 03:04"
    assert table.loc[0, "caller"] == "support (ui)"
    assert table.loc[0, "escalations"] == "swift fail -> deep other pass"
    assert table.loc[0, "outcome"] == "answered, checker accepted"


class StreamingService:
    """A service whose streamed call reports its draft's core, then waits for ever."""

    async def stream_call(self, method: str, /, **_: object) -> AsyncIterator[dict[str, object]]:
        yield {"event": "start"}
        yield {"event": "draft", "core": "swift", "text": "Roses"}
        await asyncio.Event().wait()


def test_a_stopped_screen_call_is_logged_cancelled_on_its_core(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'log.db'}"
    upgrade(database_url)
    engine = create_db_engine(database_url)
    writer = RequestLogWriter(session_factory(engine))
    client = TrackedServiceClient(StreamingService(), "writing", writer)

    async def stop_after_the_draft() -> None:
        events = client.stream_call("write_events")
        while (await anext(events)).get("event") != "draft":
            pass
        await events.aclose()  # the screen's Stop closes the stream

    asyncio.run(stop_after_the_draft())
    assert writer.flush()
    writer.close()
    engine.dispose()
    [row] = recent_requests(database_url=database_url, routed_only=True)
    assert (row["service"], row["core"], row["status"]) == ("writing", "swift", 499)
    assert row["error"] == CANCELLED


def test_service_table_shows_rates_as_percentages() -> None:
    summary = [
        {
            "service": "tutor", "answers": 4, "swift_share": 0.25, "escalation_rate": 0.5,
            "verified_rate": 0.75, "tokens_per_answer": 120.5,
        }
    ]  # fmt: skip
    table = service_table(summary)
    assert table.loc[0].tolist() == ["tutor", 4, "25%", "50%", "75%", 120.5]
    assert service_table([]).empty


def test_evaluation_missing_malformed_and_valid(tmp_path: Path) -> None:
    path = tmp_path / "router.json"
    summary, points, strategies = read_evaluation(path)
    assert summary == NO_EVALUATION and points.empty and strategies.empty

    path.write_text("{not json")
    summary, points, _ = read_evaluation(path)
    assert summary.startswith("Could not read") and "Invalid JSON" in summary and points.empty

    path.write_text(json.dumps({"created_at": "now", "apgr": 0.5, "strategies": []}))
    assert "router_beats_random: Field required" in read_evaluation(path)[0]

    evaluation = {
        "created_at": "2025-01-01",
        "apgr": 0.4567,
        "router_beats_random": False,
        "strategies": [
            {"name": "router", "quality": 0.7, "cost": 0.4, "deep_share": 0.3, "n": 50},
            {"name": "always swift", "quality": 0.5, "cost": 0.1, "deep_share": 0.0},
        ],
        "curve": [{"threshold": t, "deep_share": t, "quality": t, "cost": t} for t in (0.2, 0.8)],
    }
    path.write_text(json.dumps(evaluation))
    summary, points, strategies = read_evaluation(path)
    assert "**APGR** 0.457" in summary and "router beats random: **no**" in summary
    assert list(points["strategy"]) == ["router", "always swift", SWEEP, SWEEP]
    assert list(strategies["name"]) == ["router", "always swift"]
    assert list(strategies["n"]) == [50, ""]  # extra fields kept, blank where absent


class Evaluation:
    """Stands in for `twincore eval router`: answers `answers` times, then waits for `finish`."""

    def __init__(self, answers: int, error: Exception | None = None) -> None:
        self.answers, self.error = answers, error
        self.finish = threading.Event()
        self.per_service: list[int] = []

    def __call__(self, _settings: Settings, per_service: int, on_answer: Callable[[], None]) -> int:
        self.per_service.append(per_service)
        for _ in range(self.answers):
            on_answer()
        self.finish.wait(10)
        if self.error is not None:
            raise self.error
        return self.answers // 2


def test_the_evaluation_runs_once_at_a_time_in_the_background(tmp_path: Path) -> None:
    evaluation = Evaluation(answers=4)
    job = EvalJob(Settings(data_dir=tmp_path), evaluation, count=lambda n: 2 * n * 5)
    assert job.progress().state == "idle" and job.progress().line() == ""
    assert job.start(2).startswith("Started: 2 items per service")
    assert job.progress().state == "running"  # start returned while the run goes on
    again = job.start(3)
    assert again.startswith("An evaluation is already running: Evaluating:")
    evaluation.finish.set()
    done = job.wait(10)
    assert done.state == "done" and (done.done, done.total) == (4, 20)
    assert done.line().startswith("Evaluation finished in ") and "2 items scored" in done.line()
    assert evaluation.per_service == [2]  # the second click started nothing


def test_a_failed_evaluation_says_why_and_can_start_again(tmp_path: Path) -> None:
    failing = Evaluation(answers=1, error=ValueError("no router workload for nope"))
    failing.finish.set()
    job = EvalJob(Settings(data_dir=tmp_path), failing, count=lambda n: n)
    job.start(1)
    failed = job.wait(10)
    assert failed.state == "failed" and "no router workload for nope" in failed.line()
    assert job.start(1).startswith("Started")
    job.wait(10)
    unknown = EvalJob(Settings(data_dir=tmp_path), failing, count=_unknown_service)
    unknown.start(1)
    assert unknown.wait(10).message == "no workload named nope."


def _unknown_service(_per_service: int) -> int:
    raise ValueError("no workload named nope.")
