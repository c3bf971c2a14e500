"""The writing screen in Chromium: compose a haiku with a real core, see the checker report and
the predicted style, rate the draft and see the style's average satisfaction change."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from twincore.model_core.backends.native import NativeBackend
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_cores, build_embedded_app, serve_in_background
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"


def test_compose_a_haiku_see_its_report_rate_it_and_the_average_changes(
    browser: Browser, tmp_path: Path, data_dir: Path
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
        cores={"deep": {"model": SMOL}, "swift": {"model": SMOL}},
    )
    upgrade(settings.database_url)
    cores = build_cores(settings)
    # The component brings its screen too: load it as the platform does.
    app, _ = build_embedded_app(settings, cores, modules=["twincore.services.writing.component"])
    try:
        with serve_in_background(app) as base:
            page = browser.new_page()
            page.goto(f"{base}/ui/writing/")
            average = page.get_by_label("Average satisfaction", exact=True)
            expect(average).to_have_value("Haiku: no ratings yet", timeout=30_000)
            page.get_by_label("swift").check()
            page.get_by_label("Topic").fill("autumn rain on a tin roof")
            page.get_by_label("number input for Candidates (0: router budget)").fill("1")
            page.get_by_label("number input for Max tokens").fill("24")
            page.get_by_role("button", name="Write").click()

            progress = page.get_by_label("Progress")
            expect(progress).to_have_value(re.compile(r"stored draft 1$"), timeout=120_000)
            assert "candidate 1: checked" in progress.input_value()
            assert page.get_by_label("Text", exact=True).input_value().strip()
            expect(page.get_by_label("Checker score")).to_have_value(
                re.compile(r"^\d/2 constraints, score (0|1)\.\d\d")
            )
            report = page.locator("#writing-report")
            expect(report).to_contain_text("5-7-5 syllables")
            expect(report).to_contain_text("three lines")
            expect(page.get_by_label("Predicted style")).to_have_value(re.compile(r"\(\w+\): "))

            page.locator("#writing-stars").get_by_label("4").check()
            page.get_by_role("button", name="Rate").click()
            expect(average).to_have_value("Haiku: 4.00 / 5 from 1 rating", timeout=30_000)
            page.locator("#writing-stars").get_by_label("1").check()
            page.get_by_role("button", name="Rate").click()
            expect(average).to_have_value("Haiku: 2.50 / 5 from 2 ratings", timeout=30_000)
            expect(page.locator("#writing-ratings")).to_contain_text("2.50")

            page.get_by_role("tab", name="Styles").click()
            page.get_by_text("五言绝句", exact=False).first.click()
            expect(page.get_by_text("Exemplar 3").first).to_be_visible()
    finally:
        for core in cores.values():
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
