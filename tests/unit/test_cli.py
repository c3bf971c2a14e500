"""The CLI's configuration and refusal paths, through typer's in-process runner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from twincore import __version__
from twincore.platform.cli.main import app
from twincore.platform.settings import Settings

runner = CliRunner()


def test_config_show_json_prints_the_defaults() -> None:
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == Settings().masked()


def test_config_show_table_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINCORE_SECRET_KEY", "do-not-print-me")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "cores.deep.model" in result.stdout
    assert "do-not-print-me" not in result.stdout


def test_config_show_warns_what_start_up_will_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINCORE_DEV_MODE", "false")
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    assert "start-up will refuse" in result.stderr


def test_start_up_refuses_insecure_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINCORE_DEV_MODE", "false")
    for command in (["db", "upgrade"], ["keys", "create", "--name", "ops"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert "TWINCORE_SECRET_KEY is empty or a known default" in result.stderr


def test_invalid_configuration_exits_2_with_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINCORE_LOG_FORMAT", "xml")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "log_format" in result.stderr


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.stdout.strip() == __version__
