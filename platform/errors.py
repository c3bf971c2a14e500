"""The one family of errors a service raises, and how any failure becomes a plain sentence.

Services raise `NotFound`, `Invalid`, `Conflict`, `Unavailable` or `UpstreamFailed` (or a
subclass of their own); the gateway maps them once to OpenAI-style JSON with the right status,
also when they crossed a Ray actor boundary wrapped in Ray's error. Whatever else escapes
becomes a 500 with a plain sentence: no traceback, ANSI colour code or server path ever reaches
a client or a screen (the full trace goes to the server log).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, ClassVar

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TRACEBACK_START = re.compile(r"(Traceback \(most recent call last\)|\bFile \"/).*", re.DOTALL)
# Where the code and its dependencies live: a message never names these folders.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_SERVER_DIRS = sorted({_PACKAGE_ROOT, sys.prefix, sys.base_prefix}, key=len, reverse=True)
INTERNAL_MESSAGE = "the server failed to handle this request; the details are in its log"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class TwincoreError(RuntimeError):
    """The router or the gateway refused or failed a request; `status` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message

    def __reduce__(self) -> tuple[type[TwincoreError], tuple[int, str]]:
        return type(self), (self.status, self.message)  # crosses Ray and process boundaries

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (overload, a failed core)."""
        return self.status in RETRYABLE_STATUSES


class ServiceError(Exception):
    """A failure the caller can act on; `status` and `type` are its HTTP status and OpenAI
    error type. `details` travels into the error body (e.g. the bad lines of an upload)."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"

    def __init__(
        self, message: str, *, param: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.param, self.details = message, param, details

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses Ray and process boundaries with its keyword fields.
        return (_rebuild, (type(self), self.message, self.param, self.details))


def _rebuild(
    cls: type[ServiceError], message: str, param: str | None, details: dict[str, Any] | None
) -> ServiceError:
    error = cls.__new__(cls)
    ServiceError.__init__(error, message, param=param, details=details)
    return error


class NotFound(ServiceError):  # noqa: N818 (read as `raise NotFound(...)`)
    """The id or name asked for does not exist."""

    status, type = 404, "not_found_error"


class Invalid(ServiceError):  # noqa: N818
    """The request is well-formed but its content cannot be used."""

    status, type = 422, "invalid_request_error"


class Conflict(ServiceError):  # noqa: N818
    """The request clashes with the current state (a duplicate name, a finished case)."""

    status, type = 409, "conflict_error"


class Unavailable(ServiceError):  # noqa: N818
    """A dependency of the service (graph store, database, sandbox) cannot serve right now."""

    status, type = 503, "service_unavailable"


class UpstreamFailed(ServiceError):  # noqa: N818
    """A model core or another upstream answered with a failure."""

    status, type = 502, "upstream_error"


def root_cause(error: BaseException) -> BaseException:
    """The error a service raised, out of the wrappers Ray adds across actor boundaries
    (`RayTaskError.cause`, Serve's wrapped exceptions)."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        cause = getattr(error, "cause", None)
        if not isinstance(cause, BaseException):
            break
        error = cause
    return error


def clean_message(text: str) -> str:
    """`text` without ANSI codes, tracebacks or server folders, on one line."""
    text = TRACEBACK_START.sub("", ANSI.sub("", text))
    for folder in _SERVER_DIRS:
        if len(folder) > 1:
            text = text.replace(folder + "/", "").replace(folder, "")
    return " ".join(text.split()) or INTERNAL_MESSAGE


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout_error",
}


def describe(error: BaseException) -> tuple[int, str, str, str | None, dict[str, Any] | None]:
    """(status, type, plain message, param, details) of any failure: a service error keeps its
    own; a core failure keeps its status; anything else is a 500 with a fixed sentence."""
    error = root_cause(error)
    if isinstance(error, ServiceError):
        message = clean_message(error.message)
        return error.status, error.type, message, error.param, error.details
    if isinstance(error, TwincoreError):
        status = error.status if error.status >= 400 else 502
        kind = ERROR_TYPES.get(
            status, "upstream_error" if status >= 500 else "invalid_request_error"
        )
        return status, kind, clean_message(error.message), None, None
    if _is_replica_loss(error):
        return 503, "service_unavailable", REPLICA_LOST_MESSAGE, None, None
    return 500, "server_error", INTERNAL_MESSAGE, None, None


# Ray's errors for a replica that died or cannot be reached (killed, out of memory, its node
# gone): Serve's controller starts a new one, so the same request may succeed shortly. Matched by
# name so this module (imported by the screens) does not import Ray.
_REPLICA_LOSS = frozenset(
    {"RayActorError", "ActorDiedError", "ActorUnavailableError", "DeploymentUnavailableError"}
)
REPLICA_LOST_MESSAGE = (
    "the replica handling this request stopped before it answered; it is being restarted, "
    "retry shortly"
)


def _is_replica_loss(error: BaseException) -> bool:
    return any(cls.__name__ in _REPLICA_LOSS for cls in type(error).__mro__)


def user_message(error: BaseException) -> str:
    """One plain sentence for a screen (Gradio toast) about any failure."""
    status, _, message, _, _ = describe(error)
    if status == 500:
        return f"Something went wrong on the server: {message}."
    return message[:1].upper() + message[1:]
