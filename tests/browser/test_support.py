"""The support screen in Chromium: an order-status question is answered from the embedded
Northwind graph (loaded on first use) with its citation, the Cypher and the subgraph picture;
"Not solved" opens a ticket."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from twincore.apps.support import COMPONENTS as UI
from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.components import ServiceComponent
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.support.api import build_api
from twincore.services.support.hosted import HostedSupport


def test_order_status_is_answered_with_its_citation(browser: Browser, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'twincore.db'}"
    )
    upgrade(settings.database_url)
    # Template intents need no model: the only core is a remote one nobody answers at.
    unreachable = OpenAIBackend(
        "swift", base_url="http://127.0.0.1:9/v1", model="swift", max_retries=0
    )
    made: list[HostedSupport] = []

    def factory(router: RouterClient, s: Settings) -> HostedSupport:
        made.append(HostedSupport(router, s))
        return made[-1]

    service = ServiceComponent(name="support", factory=factory, api=build_api)
    cores = {"swift": CoreServer.from_backend(unreachable)}
    app, _ = build_embedded_app(settings, cores, components=[service, *UI])
    try:
        with serve_in_background(app) as base:
            page = browser.new_page()
            page.goto(f"{base}/ui/support/")
            page.get_by_label("Question").fill("What is the status of order 10248?")
            page.get_by_role("button", name="Ask", exact=True).click()
            answer = page.get_by_text("Order 10248 was placed on 1996-07-04")
            expect(answer).to_be_visible(timeout=60_000)
            expect(answer).to_contain_text("shipped on 1996-07-16")
            expect(answer).to_contain_text("[1]")
            expect(page.locator("#support-citations")).to_contain_text("[1] Order 10248")
            expect(page.locator(".js-plotly-plot")).to_be_visible(timeout=30_000)
            page.get_by_text("Cypher that ran").click()
            expect(page.locator(".cm-content")).to_contain_text("orderID: $orderID")

            page.get_by_role("button", name="Not solved").click()
            expect(page.get_by_text("Ticket #1 opened")).to_be_visible(timeout=30_000)
            page.get_by_role("tab", name="Tickets").click()
            expect(page.locator("#support-stats")).to_contain_text("Resolution rate: 0%")
            expect(page.get_by_test_id("cell-0-3")).to_contain_text("user_not_solved")
    finally:
        for hosted in made:
            hosted.close()
