"""Settings and database access shared by CLI commands."""

from __future__ import annotations

from pydantic import ValidationError

from twincore.platform.cli.output import fail
from twincore.platform.settings import InsecureSettingsError, Settings, require_deployable


def load_settings(*, starting: bool = False) -> Settings:
    """Resolve settings; start-up commands also refuse insecure secrets."""
    try:
        settings = Settings()
        if starting:
            require_deployable(settings)
    except ValidationError as exc:
        fail(f"invalid configuration:\n{exc}", code=2)
        raise  # unreachable: fail() exits
    except InsecureSettingsError as exc:
        fail(str(exc), code=2)
        raise
    return settings
