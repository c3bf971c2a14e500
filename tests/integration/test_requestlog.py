"""Reading the request log back: newest first, with the routing decision's reason."""

from __future__ import annotations

from typing import Any

from twincore.platform.db import create_db_engine, session_factory, session_scope
from twincore.platform.db.migrate import upgrade
from twincore.platform.requestlog import recent_requests, record_request, service_summary


def _decision(core: str, reason: str, fallback_from: str | None = None) -> dict[str, Any]:
    return {
        "core": core,
        "reason": reason,
        "max_tokens": 64,
        "candidates": 2,
        "scores": {},
        "fallback_from": fallback_from,
        "fallback_error": "boom" if fallback_from else None,
    }


def test_recent_requests_newest_first_with_reasons(database_url: str) -> None:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    rows: list[dict[str, Any]] = [
        {"request_id": "r1", "path": "/v1/chat/completions", "model": "deep", "core": "deep",
         "decision": _decision("deep", "explicit model 'deep'"), "completion_tokens": 5},
        {"request_id": "r2", "path": "/v1/models", "status_code": 200},
        {"request_id": "r3", "path": "/v1/chat/completions", "model": "auto", "core": "swift",
         "decision": _decision("swift", "fallback: deep failed; default core", "deep"),
         "prompt_tokens": 7, "completion_tokens": 3},
        {"request_id": "r4", "path": "/v1/chat/completions", "model": "nope",
         "status_code": 404, "error": "unknown model"},
    ]  # fmt: skip
    for row in rows:  # one transaction each, so each gets a later timestamp
        with session_scope(sessions) as session:
            fields = {"method": "POST", "status_code": 200, "duration_ms": 12.5, **row}
            record_request(session, **fields)
    engine.dispose()

    recent = recent_requests(database_url=database_url)
    assert [r["request_id"] for r in recent] == ["r4", "r3", "r2", "r1"]
    unknown, fallback, listing, explicit = recent
    assert explicit["core"] == "deep" and explicit["model"] == "deep"
    assert explicit["reason"] == "explicit model 'deep'" and explicit["fallback"] is False
    assert explicit["latency_ms"] == 12.5 and explicit["completion_tokens"] == 5
    assert explicit["time"].tzinfo is not None
    assert fallback["fallback"] is True and fallback["reason"].startswith("fallback: deep")
    assert (fallback["prompt_tokens"], fallback["completion_tokens"]) == (7, 3)
    assert listing["reason"] is None and listing["model"] is None
    assert unknown["status"] == 404 and unknown["core"] is None and unknown["reason"] is None

    assert [r["request_id"] for r in recent_requests(database_url=database_url, limit=2)] == [
        "r4",
        "r3",
    ]
    routed = recent_requests(database_url=database_url, routed_only=True)
    assert [r["request_id"] for r in routed] == ["r4", "r3", "r1"]


def test_service_answers_are_routed_rows_and_summarised_per_service(database_url: str) -> None:
    upgrade(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    swift_fail = {"step": "first", "core": "swift", "verdict": "fail", "tokens": 20}
    deep_pass = {"step": "other", "core": "deep", "verdict": "pass", "tokens": 30}
    swift_pass = {"step": "first", "core": "swift", "verdict": "pass", "tokens": 10}
    rows: list[dict[str, Any]] = [
        {"request_id": "s1", "path": "/v1/support/ask", "service": "support", "core": "deep",
         "verified": True, "attempts": [swift_fail, deep_pass], "completion_tokens": 50},
        {"request_id": "s2", "path": "/ui/support/ask", "service": "support", "source": "ui",
         "core": "swift", "verified": True, "attempts": [swift_pass], "completion_tokens": 10},
        {"request_id": "w1", "path": "/v1/writing/write", "service": "writing", "core": "swift",
         "verified": False, "attempts": [swift_fail], "completion_tokens": 20},
        {"request_id": "l1", "path": "/v1/writing/styles", "service": "writing"},
    ]  # fmt: skip
    for row in rows:
        with session_scope(sessions) as session:
            record_request(session, method="POST", status_code=200, duration_ms=5.0, **row)
    engine.dispose()

    routed = recent_requests(database_url=database_url, routed_only=True)
    assert [r["request_id"] for r in routed] == ["w1", "s2", "s1"]  # the listing is left out
    assert routed[1]["source"] == "ui" and routed[2]["attempts"][1]["core"] == "deep"
    assert service_summary(database_url=database_url) == [
        {"service": "support", "answers": 2, "swift_share": 0.5, "escalation_rate": 0.5,
         "verified_rate": 1.0, "tokens_per_answer": 30.0},
        {"service": "writing", "answers": 1, "swift_share": 1.0, "escalation_rate": 0.0,
         "verified_rate": 0.0, "tokens_per_answer": 20.0},
    ]  # fmt: skip


def test_recent_requests_on_an_empty_log(database_url: str) -> None:
    upgrade(database_url)
    assert recent_requests(database_url=database_url) == []
