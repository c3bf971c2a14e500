"""The installed `twincore` command against a real SQLite file in ./var."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TWINCORE = str(Path(sys.executable).with_name("twincore"))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TWINCORE_")}
    return subprocess.run(
        [TWINCORE, *args], capture_output=True, text=True, env={**clean, **(env or {})}
    )


def test_db_upgrade_creates_var_twincore_db_and_downgrade_empties_it(isolated_env: Path) -> None:
    result = run("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (isolated_env / "var" / "twincore.db").is_file()
    state = json.loads(run("db", "current", "--json").stdout)
    assert state["up_to_date"] is True and state["current"] == state["heads"]
    result = run("db", "downgrade", "base")
    assert result.returncode == 0, result.stderr
    assert json.loads(run("db", "current", "--json").stdout)["current"] == []


def test_keys_lifecycle_through_the_cli() -> None:
    assert "db upgrade" in run("keys", "list").stderr  # refuses before the schema exists
    assert run("db", "upgrade").returncode == 0
    created = json.loads(run("keys", "create", "--name", "gradio-console", "--json").stdout)
    assert created["token"].startswith("tc_")
    listed = json.loads(run("keys", "list", "--json").stdout)
    assert [(k["name"], k["active"]) for k in listed] == [("gradio-console", True)]
    assert created["token"] not in json.dumps(listed)
    assert run("keys", "revoke", str(created["id"])).returncode == 0
    assert json.loads(run("keys", "list", "--json").stdout)[0]["active"] is False
    missing = run("keys", "revoke", "999")
    assert missing.returncode == 2 and "no API key with id 999" in missing.stderr


def test_production_mode_refuses_to_start_without_secrets() -> None:
    result = run("db", "upgrade", env={"TWINCORE_DEV_MODE": "false"})
    assert result.returncode == 2
    assert "TWINCORE_SECRET_KEY" in result.stderr
    assert not Path("var/twincore.db").exists()  # refused before touching anything
    ok = run("db", "upgrade", env={"TWINCORE_DEV_MODE": "false", "TWINCORE_SECRET_KEY": "x7-real"})
    assert ok.returncode == 0, ok.stderr
