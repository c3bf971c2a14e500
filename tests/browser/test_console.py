"""The console in Chromium: cores, the decision of a real API request, the router's evaluation,
and a playground that names the core that answered."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

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


def test_console_shows_cores_decisions_evaluation_and_answers(
    browser: Browser, tmp_path: Path, data_dir: Path
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
        cores={"deep": {"model": SMOL}, "swift": {"model": SMOL}},  # two small real cores
    )
    upgrade(settings.database_url)
    evaluation = settings.data_dir / "evals" / "router.json"
    evaluation.parent.mkdir(parents=True)
    evaluation.write_text(json.dumps(EVALUATION))
    cores = build_cores(settings)
    app, state = build_embedded_app(settings, cores)
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

            page.get_by_role("tab", name="Recent decisions").click()
            decisions = page.locator("#console-decisions")
            expect(decisions).to_contain_text("explicit model 'deep'", timeout=30_000)
            expect(decisions).to_contain_text("deep")

            page.get_by_role("tab", name="Quality vs cost").click()
            expect(page.locator("#console-evaluation")).to_contain_text("0.625", timeout=30_000)
            expect(page.locator("#console-strategies")).to_contain_text("always deep")

            page.get_by_role("tab", name="Playground").click()
            page.get_by_label("swift").check()
            page.get_by_label("Message").fill("What is the capital of France?")
            page.get_by_role("button", name="Send").click()
            expect(page.get_by_label("Answer", exact=True)).not_to_have_value("", timeout=60_000)
            expect(page.get_by_label("Answered by")).to_have_value(
                re.compile(r"^swift — explicit model"), timeout=30_000
            )
            expect(page.locator(".cm-content")).to_contain_text('"core": "swift"')
            # The answer streams in: wait for more than a first word rather than reading it once.
            expect(page.get_by_label("Answer", exact=True)).to_have_value(
                re.compile(r"\S.{3,}", re.DOTALL), timeout=60_000
            )
    finally:
        for core in cores.values():
            # Playwright's sync API keeps an event loop running here, so no asyncio.run.
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
