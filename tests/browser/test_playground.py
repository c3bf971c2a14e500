"""The playground in Chromium: ask a core, watch the answer arrive, see the routing decision."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from twincore.model_core.backends.native import NativeBackend
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_cores, build_embedded_app, serve_in_background
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"


def test_playground_answers_and_shows_which_core(
    browser: Browser, tmp_path: Path, data_dir: Path
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
        cores={"deep": {"model": SMOL}, "swift": {"model": SMOL}},  # two small real cores
    )
    upgrade(settings.database_url)
    cores = build_cores(settings)
    app, _ = build_embedded_app(settings, cores)
    try:
        with serve_in_background(app) as base:
            page = browser.new_page()
            page.goto(f"{base}/ui/playground/")
            page.get_by_label("deep").check()
            page.get_by_label("Message").fill("What is the capital of France?")
            page.get_by_role("button", name="Send").click()
            expect(page.get_by_label("Answer")).not_to_have_value("", timeout=60_000)
            expect(page.locator(".cm-content")).to_contain_text('"core": "deep"', timeout=30_000)
            expect(page.locator(".cm-content")).to_contain_text("explicit model")
            # The decision shows with the first token; the answer goes on streaming after it.
            expect(page.get_by_label("Answer")).to_have_value(re.compile(r".{4,}", re.S))
    finally:
        for core in cores.values():
            # Playwright's sync API keeps an event loop running here, so no asyncio.run.
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
