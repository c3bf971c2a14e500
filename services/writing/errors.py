"""The message a user sees for a writing service error, however the error got here."""

from __future__ import annotations

from twincore.platform.chat_transport import TwincoreError


def error_message(error: Exception) -> str:
    """The message of a service error; under Ray Serve the replica's error arrives wrapped
    (`RayTaskError(ValueError)`, whose text is a traceback) with the original as `cause`."""
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, KeyError) and cause.args:
        return str(cause.args[0])  # str() of a KeyError quotes it
    return cause.message if isinstance(cause, TwincoreError) else str(cause)
