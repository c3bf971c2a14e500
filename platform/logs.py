"""Logging configuration: JSON lines when not on a terminal, rich console output on one.

Every record carries the current request id (a context variable the gateway sets per request),
so one request can be followed across the gateway, services and cores. API keys, bearer tokens and
session cookies are masked in every line, whatever logged them (`redact_secrets`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

from rich.logging import RichHandler

request_id_var: ContextVar[str | None] = ContextVar("twincore_request_id", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged too.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}

# A gateway key (`tc_<id>_<secret>`, auth.py), any bearer credential, a session cookie's value.
_SECRETS = re.compile(
    r"\btc_[0-9a-f]{8}_[A-Za-z0-9_-]+|(?<=bearer )\S+|(?<=twincore_session=)[^;\s]+",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact_secrets(text: str) -> str:
    """`text` with every API key, bearer token and session cookie value masked."""
    return _SECRETS.sub(REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """Masks credentials in the message before any handler formats it (a key pasted into a
    request body and echoed by an exception would otherwise reach the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_secrets(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the context that logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact_secrets(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(
    level: str = "INFO", log_format: Literal["auto", "json", "console"] = "auto"
) -> None:
    """Install the one handler on the root logger (idempotent: replaces earlier handlers)."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler: logging.Handler
    if use_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        handler = RichHandler(rich_tracebacks=True, show_path=False)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
