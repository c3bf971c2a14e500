"""Logging: JSON lines carry the request id and the extras a caller passes."""

from __future__ import annotations

import json
import logging

import pytest

from twincore.platform.logs import configure_logging, request_id_var


def test_json_lines_carry_request_id_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("twincore.test").info("routed %s", "deep", extra={"core": "deep"})
    finally:
        request_id_var.reset(token)
    logging.getLogger("twincore.test").debug("below the level")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["message"] == "routed deep"
    assert entry["request_id"] == "req-42"
    assert entry["core"] == "deep"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "twincore.test"


def test_exceptions_are_logged_with_their_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    try:
        raise ValueError("bad input")
    except ValueError:
        logging.getLogger("twincore.test").exception("failed")
    entry = json.loads(capsys.readouterr().err.strip())
    assert "ValueError: bad input" in entry["exception"]
    assert entry["request_id"] is None


def test_configure_is_idempotent() -> None:
    configure_logging("INFO", "json")
    configure_logging("WARNING", "console")
    root = logging.getLogger()
    assert len(root.handlers) == 1
    assert root.level == logging.WARNING
