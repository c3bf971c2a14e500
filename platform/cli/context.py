"""Settings and database access shared by CLI commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from twincore.platform.cli.output import fail
from twincore.platform.settings import InsecureSettingsError, Settings, require_deployable

if TYPE_CHECKING:
    from twincore.model_core.sources import ModelSource


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


def resolve_model_or_fail(name: str, settings: Settings) -> ModelSource:
    """Resolve a model name for a CLI command; an unknown or broken one exits 2 with the reason."""
    from twincore.model_core.sources import resolve_source

    try:
        return resolve_source(name, data_dir=settings.data_dir)
    except (ValueError, OSError) as exc:
        fail(str(exc), code=2)
        raise  # unreachable: fail() exits
