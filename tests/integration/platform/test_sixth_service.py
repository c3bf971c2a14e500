"""A sixth service, registered by its own package alone, appears in /v1, /ui, the CLI, the
evaluations and the table registry: nothing in platform/ names it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from twincore.platform.cli.main import build_cli
from twincore.platform.components import component_modules, load_components
from twincore.platform.cores import CoreServer
from twincore.platform.embedded import build_embedded_app
from twincore.platform.requestlog import recent_requests
from twincore.platform.settings import Settings

pytestmark = pytest.mark.anyio

TOY_ROOT = Path(__file__).parents[2] / "data" / "toy_service"
TOY = "toyservice.component"


@pytest.fixture
def toy_modules(monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    monkeypatch.syspath_prepend(str(TOY_ROOT))
    return (*component_modules(), TOY)


def test_the_registered_services_are_found_without_a_list_in_platform() -> None:
    services, uis = load_components()
    assert {s.name for s in services} == {"aml", "codegen", "support", "tutor", "writing"}
    assert {u.name for u in uis} >= {"playground", "console", "aml", "support", "tutor"}


async def test_the_toy_service_is_served_at_v1_and_ui(
    toy_modules: tuple[str, ...],
    make_settings: Callable[..., Settings],
    smol_cores: dict[str, CoreServer],
) -> None:
    app, _ = build_embedded_app(make_settings(), smol_cores, modules=toy_modules)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        greeted = await client.get("/v1/toy/greet/ada")
        unknown = await client.get("/v1/toy/greet/nobody")
        empty = await client.post("/v1/toy/shout", json={"text": "  "})
        page = await client.get("/ui/toy/")
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert greeted.status_code == 200 and greeted.json() == {"greeting": "hello, ada"}
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "message": "nobody called 'nobody' here",
        "type": "not_found_error",
        "param": None,
        "code": None,
    }
    assert empty.status_code == 422 and empty.json()["error"]["param"] == "text"
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert "/v1/toy/greet/{name}" in paths


def test_the_toy_service_has_a_cli_and_an_evaluation(toy_modules: tuple[str, ...]) -> None:
    cli = build_cli(toy_modules)
    runner = CliRunner()
    hello = runner.invoke(cli, ["toy", "hello", "ada"])
    assert hello.exit_code == 0, hello.output
    assert "toy says hello to ada" in hello.output
    evaluated = runner.invoke(cli, ["eval", "toy"])
    assert evaluated.exit_code == 0 and json.loads(evaluated.output) == {"toy_accuracy": 1.0}
    assert "toy" in runner.invoke(cli, ["--help"]).output
    # The default CLI (no toy module) does not know it.
    assert runner.invoke(build_cli(), ["toy", "hello", "ada"]).exit_code != 0


def test_the_toy_table_joins_the_registry() -> None:
    # In a child process: the toy table must not join this test process's metadata, where the
    # migration tests compare the metadata with the shipped migrations.
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(TOY_ROOT)!r})\n"
        "from twincore.platform.components import component_modules\n"
        "from twincore.platform.db.base import Base\n"
        "from twincore.platform.db.registry import load_table_modules\n"
        f"names = load_table_modules((*component_modules(), {TOY!r}))\n"
        "print(json.dumps({'modules': list(names), 'tables': sorted(Base.metadata.tables)}))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    found = json.loads(output)
    assert "toyservice.models" in found["modules"]
    assert "toy_notes" in found["tables"]
    assert "aml_transactions" in found["tables"] or any(
        t.startswith("aml") for t in found["tables"]
    )


async def test_escalations_reach_the_response_and_the_request_log_from_api_and_screen(
    toy_modules: tuple[str, ...],
    make_settings: Callable[..., Settings],
    smol_cores: dict[str, CoreServer],
) -> None:
    settings = make_settings()
    app, state = build_embedded_app(settings, smol_cores, modules=toy_modules)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answered = await client.post("/v1/toy/checked", json={"text": "hi"})
    assert answered.status_code == 200, answered.text
    block = answered.json()["twincore"]
    assert [(a["step"], a["core"], a["verdict"]) for a in block["attempts"]] == [
        ("first", "swift", "fail"),
        ("other", "deep", "pass"),
    ]
    assert block["attempts"][0]["reasons"] == ["the toy trusts deep"]
    # A screen calls the same client outside any API request: its call gets a row of its own.
    await state.services["toy"].checked("hi")
    await state.services["toy"].greet("ada")  # nothing generated, nothing failed: no row
    assert state.log_writer.flush()
    rows = recent_requests(database_url=settings.database_url, limit=10)
    api_row = next(r for r in rows if r["path"] == "/v1/toy/checked")
    ui_rows = [r for r in rows if r["source"] == "ui"]
    assert (api_row["service"], api_row["core"], api_row["verified"]) == ("toy", "deep", True)
    assert [a["core"] for a in api_row["attempts"]] == ["swift", "deep"]
    assert [r["path"] for r in ui_rows] == ["/ui/toy/checked"]
    assert ui_rows[0]["verified"] is True and len(ui_rows[0]["attempts"]) == 2
