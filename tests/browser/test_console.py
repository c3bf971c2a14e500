"""The console in Chromium: cores, decisions from the API and from a screen's chat (a stopped
one too, with its core), and the evaluation section before and after an evaluation exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Screenshots
from twincore.model_core.backends.native import NativeBackend
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_cores, build_embedded_app, serve_in_background
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"
EVALUATION = {
    "created_at": "2025-01-01T00:00:00+00:00",
    "apgr": 0.625,
    "router_beats_random": True,
    "strategies": [
        {"name": "router", "quality": 0.7, "cost": 0.4, "deep_share": 0.3},
        {"name": "random", "quality": 0.6, "cost": 0.4, "deep_share": 0.3},
        {"name": "always deep", "quality": 0.8, "cost": 1.0, "deep_share": 1.0},
    ],
    "curve": [{"threshold": 0.5, "deep_share": 0.3, "quality": 0.7, "cost": 0.4}],
}


def test_console_shows_cores_decisions_from_every_caller_and_evaluation(
    browser: Browser, tmp_path: Path, data_dir: Path, screenshot: Screenshots
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
        cores={"deep": {"model": SMOL}, "swift": {"model": SMOL}},  # two small real cores
    )
    upgrade(settings.database_url)
    cores = build_cores(settings)
    app, state = build_embedded_app(settings, cores, modules=["twincore.apps.screens"])
    try:
        with serve_in_background(app) as base:
            # Dev mode: a loopback client needs no registered key.
            response = httpx.post(
                f"{base}/v1/chat/completions",
                headers={"Authorization": "Bearer dev"},
                json={
                    "model": "deep",
                    "messages": [{"role": "user", "content": "Say hello."}],
                    "max_tokens": 8,
                },
                timeout=120,
            )
            assert response.status_code == 200, response.text
            assert state.log_writer.flush()

            page = browser.new_page()
            page.goto(f"{base}/ui/console/")
            cores_table = page.locator("#console-cores")
            expect(cores_table).to_contain_text("deep", timeout=30_000)
            expect(cores_table).to_contain_text("swift")

            # An app call: a chat from the console's playground, then one stopped mid-answer.
            page.get_by_role("tab", name="Playground").click()
            page.get_by_label("swift").check()
            page.locator("#console-message textarea").fill("What is the capital of France?")
            page.get_by_role("button", name="Send").click()
            summary = page.locator("#console-summary")
            answered = re.compile(r"swift · explicit model 'swift' · .* out tokens")
            expect(summary).to_contain_text(answered, timeout=60_000)
            page.get_by_label("deep").check()
            page.locator("#console-message textarea").fill("Write a very long story.")
            page.get_by_role("button", name="Send").click()
            expect(summary).to_contain_text("tokens so far", timeout=60_000)
            page.get_by_role("button", name="Stop").click()
            expect(summary).to_contain_text("then stopped", timeout=10_000)

            page.get_by_role("tab", name="Recent decisions").click()  # the tab refreshes itself
            decisions = page.locator("#console-decisions")
            # Newest first; the cells of a row read in order: caller, asked, core, why, escalations
            # (none here), outcome.
            stopped = (
                r"playground \(ui\)\s*deep\s*deep\s*explicit model 'deep'\s*cancelled by client"
            )
            chat = r"playground \(ui\)\s*swift\s*swift\s*explicit model 'swift'\s*answered"
            api = r"today \d\d:\d\d\s*API\s*deep\s*deep\s*explicit model 'deep'\s*answered"
            expect(decisions).to_contain_text(
                re.compile(rf"{stopped}.*{chat}.*{api}", re.S), timeout=30_000
            )

            page.get_by_role("tab", name="Quality vs cost").click()
            evaluation_summary = page.locator("#console-evaluation")
            expect(evaluation_summary).to_contain_text("No evaluation yet")
            expect(page.locator("#console-strategies")).to_be_hidden()
            expect(page.locator("#console-plot")).to_be_hidden()
            evaluation = settings.data_dir / "evals" / "router.json"
            evaluation.parent.mkdir(parents=True)
            evaluation.write_text(json.dumps(EVALUATION))
            page.get_by_role("button", name="Reload evaluation").click()
            expect(evaluation_summary).to_contain_text("0.625", timeout=30_000)
            expect(evaluation_summary).to_contain_text("evaluated 1 Jan 2025 00:00")
            expect(page.locator("#console-strategies")).to_contain_text("always deep")
            expect(page.locator("#console-plot")).to_be_visible()
            # Vega draws the points a moment after the block shows.
            expect(page.locator("#console-plot canvas, #console-plot svg").first).to_be_visible()
            expect(page.get_by_role("button", name="Run evaluation")).to_be_enabled()
            screenshot(page, "console")
    finally:
        for core in cores.values():
            # Playwright's sync API keeps an event loop running here, so no asyncio.run.
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
