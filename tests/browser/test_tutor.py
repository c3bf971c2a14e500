"""The tutor screen in Chromium: solve `3x + 7 = 22` and see verified steps; enter a wrong step
and see it flagged, with a hint; submit an attempt and see mastery change; a word problem typed
as the problem is refused with a plain sentence."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from twincore.model_core.backends.openai import OpenAIBackend
from twincore.platform.cores import CoreServer
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_embedded_app, serve_in_background
from twincore.platform.settings import Settings


def test_solve_check_a_wrong_step_get_a_hint_and_record_it(
    browser: Browser, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'twincore.db'}"
    )
    upgrade(settings.database_url)
    # The symbolic tutor needs no model: the only core is a remote one nobody answers at.
    unreachable = OpenAIBackend(
        "deep", base_url="http://127.0.0.1:9/v1", model="deep", max_retries=0
    )
    cores = {"deep": CoreServer.from_backend(unreachable)}
    # The service's component brings its screen (/ui/tutor) with its routes.
    app, _ = build_embedded_app(settings, cores, modules=["twincore.services.tutor.component"])
    with serve_in_background(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/ui/tutor/")
        tree_skill = page.locator("li", has=page.locator("code", has_text="linear_both_sides"))
        expect(tree_skill.last).to_contain_text("locked", timeout=30_000)  # the tree view
        expect(tree_skill.last).to_contain_text("(needs linear_equation)")

        page.get_by_label("Problem").fill("3x + 7 = 22")
        page.get_by_role("button", name="Solve").click()
        expect(page.get_by_text("3*x = 15")).to_be_visible(timeout=30_000)
        solution = page.locator("ol li")
        expect(solution).to_have_count(3)
        for index in range(3):
            expect(solution.nth(index)).to_contain_text("✓ verified")
        expect(solution.last).to_contain_text("x = 5")
        answer = page.locator("p", has=page.get_by_text("Answer:"))
        expect(answer).to_contain_text("x = 5")

        page.get_by_label("Your steps").fill("3x = 29\nx = 29/3")
        page.get_by_role("button", name="Check steps").click()
        flagged = page.get_by_text("Step 1 is wrong")
        expect(flagged).to_be_visible(timeout=30_000)
        expect(page.get_by_text("not equivalent to the step before")).to_be_visible()
        page.get_by_role("button", name="Hint").click()
        expect(page.get_by_text("Hint 1 (Nudge):")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("do both sides still balance?")).to_be_visible()
        page.get_by_role("button", name="Hint").click()
        expect(page.get_by_text("Hint 2 (Method):")).to_be_visible(timeout=30_000)

        page.get_by_role("button", name="Submit attempt").click()
        expect(page.get_by_text("Attempt 1 recorded (not correct yet)")).to_be_visible(
            timeout=30_000
        )
        expect(page.get_by_text("linear_equation 0.20 → 0.18")).to_be_visible()

        # A word problem typed as the problem: one plain sentence, no Python message.
        page.get_by_label("Problem").fill("Tom has 3 apples and buys 4 more. How many now?")
        page.get_by_role("button", name="Solve").click()
        expect(page.get_by_text("This looks like a word problem")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Traceback")).to_have_count(0)
