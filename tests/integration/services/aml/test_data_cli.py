"""`twincore aml generate`, `twincore aml ingest`, `twincore aml datasets` and `twincore bench
aml`, end to end through the CLI on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from twincore.platform.cli.main import app
from twincore.platform.db import create_db_engine
from twincore.services.aml.models import AmlTransaction

runner = CliRunner()


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TWINCORE_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return url


def _stored_transactions(url: str) -> int:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(AmlTransaction))
    engine.dispose()
    return int(count or 0)


def test_generate_then_ingest_then_list(db: str, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    args = ["aml", "generate", "--accounts", "200", "--days", "10", "--seed", "3"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["transactions"] == 1_000 and len(summary["patterns"]) == 9
    assert (out / "transactions.csv").is_file() and (out / "patterns.csv").is_file()

    result = runner.invoke(app, ["aml", "ingest", str(out), "--name", "gen", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert (info["source_format"], info["label_level"]) == ("amlworld", "transaction")
    assert info["n_transactions"] == 1_000 == _stored_transactions(db)

    again = runner.invoke(app, ["aml", "ingest", str(out), "--name", "gen"])
    assert again.exit_code == 2 and "already exists" in again.stderr

    listed = runner.invoke(app, ["aml", "datasets", "--json"])
    assert [d["name"] for d in json.loads(listed.stdout)] == ["gen"]


def test_ingest_of_a_malformed_file_lists_lines_and_stores_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
        "Amount Paid,Payment Currency,Payment Format,Is Laundering\n"
        "2022/09/01 00:20,1,A,2,B,5,US Dollar,5,US Dollar,ACH,0\n"
        "2022/09/01 00:21,1,A,2,B,5,US Dollar,five,US Dollar,ACH,0\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["aml", "ingest", str(bad), "--name", "bad", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["total"] == 1 and error["issues"][0]["line"] == 3
    assert "nothing was stored" in result.stderr
    assert _stored_transactions(db) == 0


def test_ingest_needs_a_current_schema(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWINCORE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["aml", "ingest", str(tmp_path), "--name", "x"])
    assert result.exit_code == 1 and "twincore db upgrade" in result.stderr


def test_bench_aml_reports_time_and_memory() -> None:
    result = runner.invoke(
        app, ["bench", "aml", "--transactions", "3000", "--train-transactions", "0", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["transactions"] == 3_000 and report["scorer"] == "rules"
    assert report["seconds"] > 0 and report["peak_rss_mb"] > 0
    stages = report["stages"]
    assert stages["ingest"] == pytest.approx(
        stages["ingest_parse_validate"] + stages["ingest_store_sqlite"], abs=0.02
    )
    assert report["seconds"] == pytest.approx(stages["ingest"] + stages["detect"], abs=0.05)
