"""The tutor screen in Chromium, one walk: the recommended problem fills problem and skill;
Solve on `3x + 7 = 22` hides the solution until an attempt; a wrong step is flagged with a
hint; the attempt shows the worked steps as rendered maths and opens the practised skill; an
attempt after "Show solution" counts as not solved alone; a typed word problem is solved by a
real SmolLM2 core, its answer hidden until the student's own answer is submitted."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from twincore.model_core.backends.native import NativeBackend
from twincore.platform.db.migrate import upgrade
from twincore.platform.embedded import build_cores, build_embedded_app, serve_in_background
from twincore.platform.settings import Settings

SMOL = "smollm2-135m-instruct"
# SmolLM2's greedy program for this one is `total_cost = 3 * 4` (the sandbox runs it): a word
# problem the fast model solves.
WORD = "A book costs 4 dollars. How much do 3 books cost?"


def test_the_student_works_first_and_a_word_problem_is_solved(
    browser: Browser, tmp_path: Path, data_dir: Path, screenshot: Callable[[Page, str], Path]
) -> None:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{tmp_path / 'twincore.db'}",
        cores={"deep": {"model": SMOL}, "swift": {"model": SMOL}},
    )
    upgrade(settings.database_url)
    cores = build_cores(settings)
    app, _ = build_embedded_app(settings, cores, modules=["twincore.services.tutor.component"])
    try:
        with serve_in_background(app) as base:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/ui/tutor/")
            tree = page.locator("#tutor-tree")
            linear = tree.locator("li", has_text=re.compile(r"^\s*Solving a linear equation —"))
            expect(linear).to_contain_text("locked", timeout=30_000)
            expect(linear).to_contain_text("(needs Adding and subtracting fractions")
            # The recommended problem and its skill, so New problem gives another of it.
            problem = page.get_by_label("Problem")
            expect(problem).not_to_have_value("", timeout=30_000)
            skill = page.get_by_label("Skill")
            expect(skill).to_have_value("Adding and subtracting fractions (open)")
            recommended = problem.input_value()
            page.get_by_role("button", name="New problem").click()
            expect(problem).not_to_have_value(recommended, timeout=30_000)
            assert "/" in problem.input_value()  # another fraction problem

            # The student works first: Solve says what it practises, and no answer is shown.
            problem.fill("3x + 7 = 22")
            page.get_by_role("button", name="Solve", exact=True).click()
            brief = page.locator("#tutor-brief")
            expect(brief).to_contain_text("Your turn", timeout=30_000)
            expect(brief).to_contain_text("Solving a linear equation")
            expect(skill).to_have_value("Solving a linear equation (locked)")  # its skill, picked
            solution = page.locator("#tutor-solution")
            expect(page.get_by_text("Answer:")).to_have_count(0)
            expect(solution.locator(".katex")).to_have_count(0)
            assert "x = 5" not in page.inner_text("body")

            page.get_by_label("Your steps").fill("3x = 29\nx = 29/3")
            page.get_by_role("button", name="Check steps").click()
            expect(page.get_by_text("Step 1 is wrong")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("not equivalent to the step before")).to_be_visible()
            page.get_by_role("button", name="Hint").click()
            expect(page.get_by_text("Hint 1 (Nudge):")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Hint").click()
            expect(page.get_by_text("Hint 2 (Method):")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("Answer:")).to_have_count(0)

            # After the attempt: the worked solution, each step rendered by KaTeX.
            page.get_by_role("button", name="Submit attempt").click()
            recorded = page.locator("#tutor-recorded")
            expect(recorded).to_contain_text("Attempt 1 recorded today", timeout=30_000)
            expect(recorded).to_contain_text("not correct yet")
            expect(recorded).to_contain_text("Solving a linear equation 0.20 → 0.18")
            steps = solution.locator("ol li")
            expect(steps).to_have_count(3)
            for index in range(3):
                expect(steps.nth(index).locator(".katex")).to_have_count(1)
                expect(steps.nth(index)).to_contain_text("✓ verified")
            expect(steps.nth(1).locator("annotation")).to_have_text("3 x = 15")
            answer = solution.locator("p", has_text="Answer:")
            expect(answer.locator("annotation")).to_have_text("x = 5")
            expect(page.get_by_text("3*x = 15")).to_have_count(0)  # no code form
            # Practised, so no longer shown locked.
            expect(linear).to_contain_text("open, 0.18")

            # Seeing the solution first: right steps count as not solved alone.
            problem.fill("2x - 3 = 7")
            expect(solution.locator(".katex")).to_have_count(0)  # the old solution is gone
            page.get_by_role("button", name="Show solution").click()
            expect(solution.locator("ol li")).to_have_count(3, timeout=30_000)
            page.get_by_label("Your steps").fill("2x = 10\nx = 5")
            page.get_by_role("button", name="Submit attempt").click()
            expect(recorded).to_contain_text("Attempt 2", timeout=30_000)
            expect(recorded).to_contain_text("counted as not solved on your own")
            expect(recorded).to_contain_text("Solving a linear equation 0.18 → 0.17")

            # The recommendation fills skill and problem, so New problem gives more of it.
            page.get_by_role("button", name="Recommended problem").click()
            expect(skill).to_have_value("Adding and subtracting fractions (open)", timeout=30_000)
            suggested = problem.input_value()
            assert "/" in suggested
            page.get_by_role("button", name="New problem").click()
            expect(problem).not_to_have_value(suggested, timeout=30_000)
            assert "/" in problem.input_value()

            # A word problem typed into Solve: a core answers, the answer stays hidden.
            problem.fill(WORD)
            page.get_by_label("swift").check()
            page.get_by_role("button", name="Solve", exact=True).click()
            expect(brief).to_contain_text("Word problem — your turn", timeout=90_000)
            expect(brief).to_contain_text("The swift core has worked it out")
            expect(page.get_by_text("Answer:")).to_have_count(0)
            page.get_by_label("Your steps").fill("3 books at 4 dollars\n12")
            page.get_by_role("button", name="Submit attempt").click()
            expect(recorded).to_contain_text(
                "Your answer 12 matches the core's checked answer 12", timeout=30_000
            )
            expect(solution.locator("p", has_text="Answer:")).to_contain_text("12")
            expect(solution).to_contain_text("Answered by the swift core")
            expect(page.get_by_text("Traceback")).to_have_count(0)
            screenshot(page, "tutor")
    finally:
        for core in cores.values():
            assert isinstance(core.backend, NativeBackend)
            core.backend.close()
