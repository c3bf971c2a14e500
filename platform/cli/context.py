"""Settings and database access shared by CLI commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError

from twincore.platform.cli.output import fail
from twincore.platform.safe_yaml import read_yaml
from twincore.platform.settings import (
    CONFIG_FILE_ENV,
    DEFAULT_CONFIG_FILE,
    InsecureSettingsError,
    Settings,
    require_deployable,
)

if TYPE_CHECKING:
    from twincore.model_core.sources import ModelSource


def load_settings(*, starting: bool = False) -> Settings:
    """Resolve settings; start-up commands also refuse insecure secrets."""
    check_config_file()
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


def check_config_file() -> None:
    """Exit 2 naming the config file when it is not YAML or not a mapping: pydantic-settings
    reads it with PyYAML and lets ValueError, TypeError and UnicodeDecodeError through (found
    by fuzzing twincore.yaml)."""
    path = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
    if not path.is_file():
        return
    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        fail(f"cannot read the configuration file {path}: {exc}", code=2)
        return
    if data is not None and not (isinstance(data, dict) and all(isinstance(k, str) for k in data)):
        fail(f"{path} must hold a mapping of settings by name (cores:, gateway:, ...)", code=2)


def resolve_model_or_fail(name: str, settings: Settings) -> ModelSource:
    """Resolve a model name for a CLI command; an unknown or broken one exits 2 with the reason."""
    from twincore.model_core.sources import resolve_source

    try:
        return resolve_source(name, data_dir=settings.data_dir)
    except (ValueError, OSError) as exc:
        fail(str(exc), code=2)
        raise  # unreachable: fail() exits
