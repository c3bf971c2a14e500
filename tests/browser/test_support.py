"""The support screen in Chromium: an order-status question is answered from the embedded
Northwind graph (loaded on first use) with its citation, what answered it, the Cypher and the
subgraph picture with a legend; "Not solved" reports its ticket in the chat, and the Tickets
tab lists that ticket with the customer's question and conversation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.support.component import COMPONENTS
from twincore.services.support.service import SupportService


def test_order_status_is_answered_then_escalated_from_the_chat(
    browser: Browser, tmp_path: Path, screenshot: Callable[[Page, str], Path]
) -> None:
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
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/ui/support/")
            page.get_by_role("tab", name="Tickets").click()
            expect(page.locator("#support-stats")).to_contain_text("no conversations yet")
            # No ticket is chosen before there is one (it used to be a red, invalid "0").
            expect(page.locator("#support-ticket-chat")).to_contain_text("Choose a ticket")
            page.get_by_role("tab", name="Chat").click()

            page.get_by_label("Question").fill("What is the status of order 10248?")
            page.get_by_role("button", name="Ask", exact=True).click()
            chat = page.locator("#support-chat")
            answer = chat.get_by_text("Order 10248 was placed on 1996-07-04")
            expect(answer).to_be_visible(timeout=60_000)
            expect(answer).to_contain_text("shipped on 1996-07-16")
            expect(answer).to_contain_text("[1]")
            expect(page.locator("#support-citations")).to_contain_text("[1] Order 10248")
            # A template answered: named, and not counted as resolved until confirmed.
            answered_by = page.locator("#support-answered-by")
            expect(answered_by).to_contain_text("order status template (no model)")
            expect(answered_by).to_contain_text("once you press Solved")
            expect(page.get_by_role("button", name="Solved", exact=True)).to_be_enabled()
            picture = page.locator("#support-subgraph .js-plotly-plot")
            expect(picture).to_be_visible(timeout=30_000)
            expect(picture.locator(".legend")).to_contain_text("cited")
            page.get_by_text("Cypher that ran").click()
            expect(page.locator(".cm-content")).to_contain_text("orderID: $orderID")

            page.get_by_role("button", name="Not solved").click()
            expect(chat).to_contain_text("Ticket #1 is open", timeout=30_000)
            expect(chat).to_contain_text("a person will follow up")
            expect(page.get_by_role("button", name="Not solved")).to_be_disabled()
            screenshot(page, "support")

            page.get_by_role("tab", name="Tickets").click()
            expect(page.locator("#support-stats")).to_contain_text("Resolution rate: 0%")
            table = page.locator("#support-tickets")
            expect(table).to_contain_text("What is the status of order 10248?")
            expect(table).to_contain_text("customer said not solved")
            expect(table).to_contain_text("today ")
            ticket_chat = page.locator("#support-ticket-chat")
            expect(ticket_chat).to_contain_text("What is the status of order 10248?")
            expect(page.locator("#support-ticket-note")).to_contain_text("Ticket #1")
    finally:
        for made_service in made:
            made_service.close()
