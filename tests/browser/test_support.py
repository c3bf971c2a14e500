"""The support screen in Chromium: an order-status question is answered from the embedded
Northwind graph (loaded on first use) with its citation, the Cypher and the subgraph picture;
"Not solved" opens a ticket."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from playwright.sync_api import Browser, expect

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.support.component import COMPONENTS
from twincore.services.support.service import SupportService


def test_order_status_is_answered_with_its_citation(browser: Browser, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'twincore.db'}"
    )
    upgrade(settings.database_url)
    # Template intents need no model: the only core is a remote one nobody answers at.
    unreachable = OpenAIBackend(
        "swift", base_url="http://127.0.0.1:9/v1", model="swift", max_retries=0
    )
    made: list[SupportService] = []

    def factory(router: RouterClient, s: Settings) -> SupportService:
        made.append(SupportService(router, s))
        return made[-1]

    service = replace(COMPONENTS[0], factory=factory)
    screen = service.ui_component()  # components given as objects: the screen is named too
    assert screen is not None
    cores = {"swift": CoreServer.from_backend(unreachable)}
    app, _ = build_embedded_app(settings, cores, components=[service, screen])
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
        for made_service in made:
            made_service.close()
