"""The AML screen in Chromium: upload an AMLSim sample, run detection, see an alert's network
(at most 40 accounts, the alerted one highlighted, a legend), open a case, open it again for
the same account (the existing case, with a message), and find the case listed on load."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from twincore.apps.aml_graph import MAX_NODES
from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.components import load_components
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.settings import Settings
from twincore.services.aml.ingest.samples import DATA_DIR

# The plot's traces as plotly holds them: the account traces (meta "account") with their
# names and positions, so the test counts what is drawn rather than what was sent.
PLOT_ACCOUNTS = """() => {
  const plot = document.querySelector('#aml-graph .js-plotly-plot');
  return plot.data.filter(t => t.meta === 'account')
    .map(t => ({name: t.name, accounts: t.customdata, x: t.x}));
}"""


def _accounts_drawn(page: Page) -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = page.evaluate(PLOT_ACCOUNTS)
    return traces


def test_detect_inspect_and_open_one_case_per_account(
    browser: Browser, tmp_path: Path, screenshot: Callable[[Page, str], Path]
) -> None:
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
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/ui/aml/")
        page.locator("input[type=file]").first.set_input_files(str(upload))
        page.get_by_label("Dataset name").fill("uploaded fan-in")
        page.get_by_role("button", name="Ingest upload").click()
        expect(page.get_by_text("Stored uploaded fan-in")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("118,250 transactions").first).to_be_visible()

        page.get_by_role("button", name="Run detection").click()
        expect(page.get_by_text("Run 1:")).to_be_visible(timeout=120_000)
        expect(page.get_by_role("button", name="Download alerts (CSV)")).to_be_visible()
        # The table tells alerts apart by money moved, not only by a score near 1.
        money = page.locator("#aml-alerts").get_by_text(" USD").filter(visible=True)
        expect(money.first).to_be_visible()

        page.get_by_role("button", name="Show alert").click()
        expect(page.locator("#aml-graph .js-plotly-plot")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Alert #1:").first).to_be_visible()
        traces = {t["name"]: t for t in _accounts_drawn(page)}
        drawn = sum(len(t["x"]) for t in traces.values())
        # The fan-in sample's top alert touches ~200 accounts: the picture keeps at most 40.
        assert 10 < drawn <= MAX_NODES
        subject = traces["alerted account"]["accounts"]
        assert len(subject) == 1 and f"Alert #1: {subject[0]}" in page.inner_text("body")
        legend = page.locator("#aml-graph .legendtext")
        expect(legend.filter(has_text="alerted account")).to_be_visible()
        expect(legend.filter(has_text="other account")).to_be_visible()

        page.get_by_label("Assignee").fill("ana")
        page.get_by_role("button", name="Open case").click()
        notice = page.locator("#aml-case-notice")
        expect(notice.get_by_text("Opened case 1")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("status open")).to_be_visible()
        expect(page.get_by_text("assignee ana")).to_be_visible()

        # Again for the same account: the existing case, said so, and no second case.
        page.get_by_role("tab", name="Data and detection").click()
        page.get_by_role("button", name="Open case").click()
        expect(notice.get_by_text(f"{subject[0]} already has case 1")).to_be_visible(timeout=30_000)

        # A fresh visit lists the case without pressing Refresh.
        page.reload()
        page.get_by_role("tab", name="Cases").click()
        cases = page.locator("#aml-cases")
        expect(cases.get_by_text(subject[0]).filter(visible=True)).to_be_visible(timeout=30_000)
        expect(cases.get_by_text("ana", exact=True).filter(visible=True)).to_be_visible()
        page.get_by_role("tab", name="Data and detection").click()
        page.get_by_role("button", name="Run detection").click()
        expect(page.get_by_text("Run 2:")).to_be_visible(timeout=120_000)
        expect(page.get_by_text("0 new").first).to_be_visible()
        page.get_by_role("button", name="Show alert").click()
        expect(page.get_by_text("raised by 2 runs").first).to_be_visible(timeout=30_000)
        screenshot(page, "aml")
