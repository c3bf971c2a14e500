"""The playground in Chromium: a two-turn conversation, the one-line decision summary with the
JSON behind a fold, the truncation notice under a small max tokens, and Stop mid-answer."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Screenshots
from twincore.model_core.backends.native import NativeBackend
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_cores, build_embedded_app, serve_in_background
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"


def set_max_tokens(page: Page, value: int) -> None:
    box = page.get_by_label("number input for Max tokens")
    box.fill(str(value))
    box.press("Enter")


def send(page: Page, message: str) -> None:
    page.locator("#playground-message textarea").fill(message)
    page.get_by_role("button", name="Send").click()


def test_playground_chats_summarises_truncates_and_stops(
    browser: Browser, tmp_path: Path, data_dir: Path, screenshot: Screenshots
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
        cores={"deep": {"model": SMOL}, "swift": {"model": SMOL}},  # two small real cores
    )
    upgrade(settings.database_url)
    cores = build_cores(settings)
    app, _ = build_embedded_app(settings, cores, modules=["twincore.apps.screens"])
    try:
        with serve_in_background(app) as base:
            page = browser.new_page()
            page.goto(f"{base}/ui/playground/")
            conversation = page.locator("#playground-conversation")
            summary = page.locator("#playground-summary")
            notice = page.locator("#playground-notice")
            page.get_by_label("deep").check()

            send(page, "What is the capital of France?")
            expect(summary).to_contain_text(
                re.compile(r"deep · explicit model 'deep' · \d+ in / \d+ out tokens \(cap 256\) · "
                           r"[\d.]+ s"), timeout=60_000)  # fmt: skip
            send(page, "And of Germany?")
            # Both turns stay in the history, each with its answer.
            expect(conversation.get_by_test_id("user")).to_have_count(2, timeout=60_000)
            expect(conversation.get_by_test_id("bot")).to_have_count(2, timeout=60_000)
            expect(summary).to_contain_text("out tokens", timeout=60_000)
            expect(conversation.get_by_test_id("bot").nth(1)).to_contain_text(re.compile(r"\w{3,}"))
            # The decision's JSON waits behind a closed fold.
            decision = page.locator("#playground-decision")
            expect(decision).to_be_hidden()
            page.get_by_text("Routing decision (JSON)").click()
            expect(decision).to_contain_text("explicit model 'deep'")

            set_max_tokens(page, 4)  # the slider is a cap, also for `auto`
            page.get_by_label("auto").check()
            send(page, "Write a long story about a brave dragon.")
            expect(notice).to_contain_text("cut at the 4-token limit", timeout=60_000)
            expect(summary).to_contain_text("(cap 4)")
            expect(summary).to_contain_text("4 out tokens")

            set_max_tokens(page, 1024)
            send(page, "Write a very long story about a brave dragon and a wise owl.")
            long_answer = conversation.get_by_test_id("bot").nth(3)
            expect(summary).to_contain_text("tokens so far", timeout=60_000)
            page.get_by_role("button", name="Stop").click()
            expect(notice).to_contain_text("Stopped", timeout=10_000)
            expect(page.get_by_role("button", name="Send")).to_be_enabled()
            screenshot(page, "playground")
            stopped_at = long_answer.inner_text()
            # Send works again after a stop, and the stopped answer stays as it was.
            set_max_tokens(page, 8)
            send(page, "Thanks!")
            expect(conversation.get_by_test_id("bot")).to_have_count(5, timeout=60_000)
            expect(notice).not_to_contain_text("Stopped", timeout=60_000)
            assert conversation.get_by_test_id("bot").nth(3).inner_text() == stopped_at
    finally:
        for core in cores.values():
            # Playwright's sync API keeps an event loop running here, so no asyncio.run.
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
