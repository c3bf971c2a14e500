"""The code generation screen in Chromium: a small Python function is written by a real core,
run against the tests in the sandbox, and the verdict and each round's log are shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from twincore.model_core.backends.native import NativeBackend
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_cores, build_embedded_app, serve_in_background
from twincore.platform.settings import Settings
from twincore.services.codegen.component import COMPONENTS

SMOL = "smollm2-135m-instruct"


def test_codegen_screen_shows_code_log_and_verdict(
    browser: Browser, tmp_path: Path, data_dir: Path, screenshot: Callable[[Page, str], Path]
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
        cores={"deep": {"model": SMOL}, "swift": {"model": SMOL}},
    )
    upgrade(settings.database_url)
    cores = build_cores(settings)
    app, _ = build_embedded_app(settings, cores, components=list(COMPONENTS))
    try:
        with serve_in_background(app) as base:
            page = browser.new_page()
            page.goto(f"{base}/ui/codegen/")
            page.get_by_label("swift").check()
            page.get_by_role("button", name="Generate").click()
            verdict = page.get_by_label("Verdict")
            # While it runs, the verdict box says which round and which core is writing.
            expect(verdict).to_have_value(re.compile(r"^Round 0, candidate 0: .* on swift"))
            expect(verdict).to_have_value(re.compile(r"^(PASSED|FAILED)"), timeout=180_000)
            log = page.get_by_label("Sandbox log").input_value()
            assert "--- round 0 (candidate 0) ---" in log
            assert "status: " in log
            passed = verdict.input_value().startswith("PASSED")
            assert passed == ("status: ok" in log)
            assert "run 1" in verdict.input_value()
            expect(page.locator(".cm-content").last).not_to_be_empty()
            screenshot(page, "codegen")
    finally:
        for core in cores.values():
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
