"""The AML screen in Chromium: upload an AMLSim sample, run detection, open an alert, see its
subgraph, open a case."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Browser, expect

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.components import load_components
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.settings import Settings
from twincore.services.aml.ingest.samples import DATA_DIR


def test_upload_detect_inspect_and_open_a_case(browser: Browser, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'twincore.db'}"
    )
    upgrade(settings.database_url)
    # Detection needs no model: the only core is a remote one nobody answers at.
    unreachable = OpenAIBackend(
        "deep", base_url="http://127.0.0.1:9/v1", model="deep", max_retries=0
    )
    cores = {"deep": CoreServer.from_backend(unreachable)}
    services, uis = load_components(["twincore.services.aml.component"])
    app, _ = build_embedded_app(settings, cores, components=[*services, *uis])
    upload = tmp_path / "fanin.tgz"
    shutil.copy(DATA_DIR / "20K_fanin200.tgz", upload)
    with serve_in_background(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/ui/aml/")
        page.locator("input[type=file]").first.set_input_files(str(upload))
        page.get_by_label("Dataset name").fill("uploaded fan-in")
        page.get_by_role("button", name="Ingest upload").click()
        expect(page.get_by_text("Stored uploaded fan-in")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("118,250 transactions").first).to_be_visible()

        page.get_by_role("button", name="Run detection").click()
        expect(page.get_by_text("alerts (")).to_be_visible(timeout=120_000)
        page.get_by_role("button", name="Show alert").click()
        expect(page.locator(".js-plotly-plot")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Alert #1:").first).to_be_visible()

        page.get_by_label("Assignee").fill("ana")
        page.get_by_role("button", name="Open case").click()
        page.get_by_role("tab", name="Cases").click()
        expect(page.get_by_text("status open")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("assignee ana")).to_be_visible()
