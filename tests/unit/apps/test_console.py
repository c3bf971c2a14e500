"""The console's tables: core health with or without the router's view, the evaluation file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from twincore.apps.console import (
    NO_EVALUATION,
    SWEEP,
    answered_by,
    core_table,
    decision_table,
    read_evaluation,
    service_table,
)
from twincore.platform.router.types import Decision

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


def test_decision_table_shows_reason_or_error() -> None:
    row = {
        "time": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "model": "auto",
        "core": None,
        "reason": None,
        "error": "no core could serve the request",
        "fallback": False,
        "status": 503,
        "latency_ms": 12.6,
        "prompt_tokens": 4,
        "completion_tokens": 0,
    }
    table = decision_table([row])
    assert table.loc[0].tolist() == [
        "2025-01-02 03:04:05", "", "auto", "", "", "no core could serve the request", "", 503, 13,
        "4/0",
    ]  # fmt: skip


def test_a_service_answer_shows_its_service_and_attempts() -> None:
    attempts = [
        {"step": "first", "core": "swift", "verdict": "fail"},
        {"step": "other", "core": "deep", "verdict": "pass"},
    ]
    row = {
        "time": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "model": None, "core": "deep", "reason": None, "error": None, "fallback": False,
        "status": 200, "latency_ms": 900.0, "prompt_tokens": 0, "completion_tokens": 40,
        "service": "support", "source": "ui", "attempts": attempts,
    }  # fmt: skip
    table = decision_table([row])
    assert table.loc[0, "service"] == "support (ui)"
    assert table.loc[0, "attempts"] == "swift fail -> deep other pass"


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


def test_answered_by() -> None:
    decision = Decision(core="swift", reason="explicit model 'swift'", max_tokens=8, candidates=1)
    assert answered_by(decision) == "swift — explicit model 'swift'"
    assert answered_by(None) == ""
