"""The writing screen in Chromium: compose a haiku with a real core on a 16-token budget (SmolLM2
greedy: verified to come back unmet), see "Unmet" with the rule it failed and why and a "Try
again" that runs again, rate the draft and see the style's average change, and read every style
by its name in its own language (no ids)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Screenshots
from twincore.model_core.backends.native import NativeBackend
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_cores, build_embedded_app, serve_in_background
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"


def test_a_failed_haiku_is_unmet_with_its_reasons_and_try_again(
    browser: Browser, tmp_path: Path, data_dir: Path, screenshot: Screenshots
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
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{base}/ui/writing/")
            average = page.get_by_label("Average satisfaction", exact=True)
            expect(average).to_have_value("Haiku: no ratings yet", timeout=30_000)
            page.get_by_label("swift").check()
            page.get_by_label("Topic").fill("autumn rain on a tin roof")
            page.get_by_label("number input for Candidates (0: router budget)").fill("1")
            page.get_by_label("number input for Max tokens").fill("16")
            page.get_by_role("button", name="Write").click()

            progress = page.get_by_label("Progress")
            expect(progress).to_have_value(re.compile(r"saved as draft 1$"), timeout=120_000)
            assert "candidate 1 on the swift core: checked" in progress.input_value()
            verdict = page.locator("#writing-verdict")
            expect(verdict).to_contain_text("Unmet")
            expect(verdict).to_contain_text(re.compile(r"5-7-5 syllables: line \d has \d+ syll"))
            expect(page.get_by_label("Best attempt: unmet", exact=False)).not_to_be_empty()
            report = page.locator("#writing-report")
            expect(report).to_contain_text("unmet")
            expect(report).to_contain_text("three lines")
            expect(page.get_by_label("Predicted style")).to_have_value(re.compile(r": "))
            try_again = page.get_by_role("button", name="Try again")
            expect(try_again).to_be_visible()

            page.locator("#writing-stars").get_by_label("4").check()
            page.get_by_role("button", name="Rate").click()
            expect(average).to_have_value("Haiku: 4.00 / 5 from 1 rating", timeout=30_000)
            ratings = page.locator("#writing-ratings")
            expect(ratings).to_contain_text("4.00")
            expect(ratings).to_contain_text("五言绝句 (Five-character quatrain)")
            expect(ratings).not_to_contain_text("zh_news_brief")
            screenshot(page, "writing")

            try_again.click()  # the same request with a new seed: a second draft
            expect(progress).to_have_value(re.compile(r"saved as draft 2$"), timeout=120_000)
            expect(verdict).to_contain_text(re.compile(r"(Met|Unmet)"))

            page.get_by_role("tab", name="Styles").click()
            # Each accordion reads as the name alone (then its fold arrow): never an id.
            limerick = page.get_by_role("button", name=re.compile(r"^Limerick\W*$"))
            expect(limerick).to_be_visible()
            styles = page.locator("#writing-styles")
            expect(styles).not_to_contain_text("五行打油诗")  # an English style: no Chinese name
            expect(styles).not_to_contain_text("business_letter")
            page.get_by_text("五言绝句 (Five-character quatrain)").click()
            expect(page.get_by_text("Exemplar 3").first).to_be_visible()
    finally:
        for core in cores.values():
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
