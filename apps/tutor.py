"""Tutor screen: the student works first. Pick a skill (or take the recommended problem, or type
a problem or a word problem), write your own steps for feedback and graded hints, submit an
attempt and watch mastery change; the worked solution (steps in rendered maths, reasons in
plain words on request) stays hidden until an attempt or until asked for.

Handlers take the tutor's service client (`context.services["tutor"]`, bound with
`functools.partial`) and plain values; each is wrapped in `friendly`, so a failure reaches the
screen as one plain sentence in a toast. `seen` holds the problem whose solution was shown:
an attempt on it counts as failed (the service's rule).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any, cast

import gradio as gr

from twincore.apps import tutor_views as views
from twincore.apps.calls import friendly, shown
from twincore.platform.components import UiContext
from twincore.services.tutor.steps.reading import looks_like_prose

HINT_NAMES = {1: "Nudge", 2: "Method", 3: "Next step"}
CORES = ["auto", "deep", "swift"]
LANGUAGES = [("English", "en"), ("Chinese 中文", "zh")]
WORD_ONLY = "word problems are checked by their answer: write it on the last line and submit"


def _steps(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _problem(text: str) -> str:
    if not text.strip():
        raise gr.Error("Type a problem first, or pick one with New problem.")
    return text.strip()


def _word_for(problem: str, word: dict[str, Any] | None) -> dict[str, Any] | None:
    """The word-problem answer kept for this problem, if Solve already asked the core."""
    return word if word and word["question"].strip() == problem else None


async def _tree(service: Any, student: str) -> tuple[str, list[tuple[str, str]]]:
    """The tree's text with the student's states, and the picker's choices."""
    tree = await shown(service.tree_view(student.strip() or None))
    return views.tree_markdown(tree), views.skill_choices(tree)


async def _names(service: Any) -> dict[str, str]:
    return views.skill_names(await shown(service.tree_view(None)))


async def _worked(service: Any, problem: str) -> str:
    solved = await shown(service.solve(problem))
    names = await _names(service)
    solved["skill_names"] = [names.get(s, s) for s in solved["skills"]]
    return views.solution_markdown(solved)


@friendly
async def start(service: Any, student: str) -> tuple[Any, ...]:
    """The tree with the student's states, their recommended problem with its skill, and their
    mastery."""
    mastery = await shown(service.mastery(student.strip()))
    chosen = mastery["recommendation"]
    skill = chosen["skill"]["id"] if chosen["skill"] else None
    tree_text, choices = await _tree(service, student)
    problem = chosen["problem"]["text"] if chosen["problem"] else ""
    return (
        tree_text,
        gr.update(choices=choices, value=skill),
        problem,
        views.mastery_rows(mastery),
        views.recommendation_line(mastery),
    )


@friendly
async def new_problem(
    service: Any, skill: str | None, seed: int, current: str
) -> tuple[str, str, int]:
    """A practice problem for the picked skill other than the one on screen (each click moves
    the seed on; the recommendation seeds its own, so the two may meet); old steps go."""
    if not skill:
        raise gr.Error("Pick a skill first.")
    for tried in range(int(seed), int(seed) + 5):
        (problem,) = await shown(service.problems(skill, tried, 1))
        if problem["text"] != current.strip():
            break
    return str(problem["text"]), "", tried + 1


@friendly
async def recommended(service: Any, student: str) -> tuple[str, Any, str]:
    """The recommended problem, with its skill picked (so New problem gives more of it)."""
    chosen = await shown(service.recommendation(student.strip()))
    if chosen["problem"] is None:
        raise gr.Error(chosen["reason"])
    return str(chosen["problem"]["text"]), gr.update(value=chosen["skill"]["id"]), ""


@friendly
async def solve(
    service: Any, student: str, problem: str, core: str
) -> AsyncIterator[tuple[str, Any, Any]]:
    """Start on a problem: say what it practises (and pick its skill), the solution hidden. A
    word problem goes to the word-problem path (a core's programs, checked), its answer kept
    hidden too."""
    problem = _problem(problem)
    if looks_like_prose(problem):
        who = "a core" if core == "auto" else f"the {core} core"
        working = f"*Working:* {who} is solving this word problem with a program…"
        yield working, None, gr.skip()
        word = await shown(service.word_problem(problem, "pal", None, core))
        yield views.word_brief(word), word, gr.skip()
        return
    classified = await shown(service.classify(problem))
    mastery = await shown(service.mastery(student.strip()))
    skills = classified["skills"]
    picked = gr.update(value=skills[-1]) if skills else gr.skip()
    yield views.problem_brief(classified, mastery), None, picked


async def _word(service: Any, problem: str, word: Any, core: str) -> dict[str, Any]:
    """The kept answer for this problem, else the core asked now."""
    kept = _word_for(problem, word)
    if kept is not None:
        return kept
    solved: dict[str, Any] = await shown(service.word_problem(problem, "pal", None, core))
    return solved


@friendly
async def show_solution(
    service: Any, problem: str, word: dict[str, Any] | None, core: str
) -> tuple[str, str, Any]:
    """The worked solution (or the word problem's answer); the problem is marked as seen."""
    problem = _problem(problem)
    if looks_like_prose(problem):
        solved = await _word(service, problem, word, core)
        return views.word_markdown(solved), problem, solved
    return await _worked(service, problem), problem, word


@friendly
async def explain(
    service: Any, problem: str, word: dict[str, Any] | None, language: str, core: str
) -> tuple[str, str, Any]:
    """The worked solution with each reason in plain words by a core (the maths unchanged)."""
    problem = _problem(problem)
    if looks_like_prose(problem):
        solved = await _word(service, problem, word, core)
        return views.word_markdown(solved), problem, solved
    view = await shown(service.explain(problem, language, core))
    names = await _names(service)
    view["skill_names"] = [names.get(s, s) for s in view["skills"]]
    return views.solution_markdown(view), problem, word


@friendly
async def check(service: Any, problem: str, steps: str) -> tuple[str, int]:
    """The checked steps, and the hint level back to 0 (new feedback, hints start again)."""
    problem = _problem(problem)
    if looks_like_prose(problem):
        raise gr.Error(WORD_ONLY.capitalize() + ".")
    checked = await shown(service.check(problem, _steps(steps)))
    return views.check_markdown(checked), 0


@friendly
async def hint(service: Any, problem: str, steps: str, level: int) -> tuple[str, int]:
    """Each click goes one level deeper: nudge, method, next step."""
    problem = _problem(problem)
    if looks_like_prose(problem):
        raise gr.Error("Hints are for maths steps; " + WORD_ONLY + ".")
    level = min(level + 1, 3)
    answer = await shown(service.hint(problem, _steps(steps), level))
    return f"**Hint {level} ({HINT_NAMES[level]}):** {answer['hint']}", level


@friendly
async def submit(
    service: Any,
    student: str,
    problem: str,
    steps: str,
    hints: int,
    session_id: int | None,
    seen: str | None,
    word: dict[str, Any] | None,
    core: str,
) -> tuple[Any, ...]:
    """Record a graded attempt (starting a session on the first one; after the solution was
    seen it counts as failed), then show the solution, the new mastery and the tree."""
    problem = _problem(problem)
    if looks_like_prose(problem):
        solved = await _word(service, problem, word, core)
        line = views.word_attempt_line(_steps(steps), solved)
        skip = gr.skip()
        return line, skip, skip, skip, skip, skip, views.word_markdown(solved), problem, solved
    if session_id is None:
        session_id = int((await shown(service.create_session(student.strip())))["id"])
    attempt = await shown(
        service.attempt(session_id, problem, _steps(steps), hints, seen == problem)
    )
    mastery = await shown(service.mastery(student.strip()))
    tree_text, choices = await _tree(service, student)
    names = {row["id"]: row["name"] for row in mastery["skills"]}
    return (
        views.attempt_line(attempt, names),
        views.mastery_rows(mastery),
        views.recommendation_line(mastery),
        session_id,
        tree_text,
        gr.update(choices=choices),
        await _worked(service, problem),
        problem,
        word,
    )


@friendly
async def show_mastery(service: Any, student: str) -> tuple[list[list[Any]], str]:
    mastery = await shown(service.mastery(student.strip()))
    return views.mastery_rows(mastery), views.recommendation_line(mastery)


def build(context: UiContext) -> gr.Blocks:
    service = context.services["tutor"]
    with gr.Blocks(title="Twincore tutor") as demo:
        gr.Markdown(
            "# Math tutor\nYou work first: write your steps and each one is checked by SymPy; "
            "hints go from a nudge to the method to the next step. The worked solution waits "
            "until you submit an attempt or ask for it."
        )
        session = gr.State(None)
        hint_level = gr.State(0)
        seed = gr.State(1)  # the recommended problem is seed 0's; New problem moves on
        seen = gr.State(None)
        word = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                problem = gr.Textbox(
                    label="Problem",
                    lines=2,
                    placeholder="3x + 7 = 22, d/dx (x^2 sin(x)), or a word problem in words",
                )
                with gr.Row():
                    solve_button = gr.Button("Solve", variant="primary")
                    reveal_button = gr.Button("Show solution")
                    explain_button = gr.Button("Explain in plain words")
                brief = gr.Markdown(elem_id="tutor-brief")
                steps = gr.Textbox(
                    label="Your steps",
                    lines=4,
                    placeholder="one step per line, e.g.\n3x = 15\nx = 5",
                )
                with gr.Row():
                    check_button = gr.Button("Check steps")
                    hint_button = gr.Button("Hint")
                    submit_button = gr.Button("Submit attempt", variant="primary")
                feedback = gr.Markdown(elem_id="tutor-feedback")
                hint_text = gr.Markdown(elem_id="tutor-hint")
                recorded = gr.Markdown(elem_id="tutor-recorded")
                solution = gr.Markdown(
                    latex_delimiters=views.LATEX_DELIMITERS, elem_id="tutor-solution"
                )
            with gr.Column(scale=2):
                student = gr.Textbox(label="Student", value="student", info="press Enter to load")
                skill = gr.Dropdown(label="Skill", choices=[])
                with gr.Row():
                    generate = gr.Button("New problem")
                    suggest = gr.Button("Recommended problem")
                core = gr.Radio(
                    CORES, value="auto", label="Core for word problems and explanations"
                )
                language = gr.Radio(LANGUAGES, value="en", label="Explanation language")
                with gr.Accordion("Knowledge tree", open=True):
                    tree = gr.Markdown(elem_id="tutor-tree")
        with gr.Accordion("Mastery", open=False):
            refresh = gr.Button("Show mastery")
            next_line = gr.Markdown()
            table = gr.Dataframe(headers=views.MASTERY_HEADERS, label="Mastery", interactive=False)

        for loaded in (demo.load, student.submit):
            loaded(
                partial(start, service),
                inputs=[student],
                outputs=[tree, skill, problem, table, next_line],
            )
        # Client-side resets: a new student starts a new session; a changed problem hides the
        # old problem's brief, solution and feedback, and hints start again.
        student.change(None, js="() => null", outputs=[session])
        problem.change(
            None,
            js="() => ['', '', '', '', '', 0]",
            outputs=[brief, solution, feedback, hint_text, recorded, hint_level],
        )
        steps.change(None, js="() => 0", outputs=[hint_level])  # new work: hints start again
        generate.click(
            partial(new_problem, service),
            inputs=[skill, seed, problem],
            outputs=[problem, steps, seed],
            api_name="problem",
        )
        suggest.click(
            partial(recommended, service),
            inputs=[student],
            outputs=[problem, skill, steps],
            api_name="recommended",
        )
        solve_button.click(
            partial(solve, service),
            inputs=[student, problem, core],
            outputs=[brief, word, skill],
            api_name="solve",
        )
        reveal_button.click(
            partial(show_solution, service),
            inputs=[problem, word, core],
            outputs=[solution, seen, word],
            api_name="solution",
        )
        explain_button.click(
            partial(explain, service),
            inputs=[problem, word, language, core],
            outputs=[solution, seen, word],
            api_name="explain",
        )
        check_button.click(
            partial(check, service),
            inputs=[problem, steps],
            outputs=[feedback, hint_level],
            api_name="check",
        )
        hint_button.click(
            partial(hint, service),
            inputs=[problem, steps, hint_level],
            outputs=[hint_text, hint_level],
            api_name="hint",
        )
        submit_button.click(
            partial(submit, service),
            inputs=[student, problem, steps, hint_level, session, seen, word, core],
            outputs=[recorded, table, next_line, session, tree, skill, solution, seen, word],
            api_name="attempt",
        )
        refresh.click(partial(show_mastery, service), inputs=[student], outputs=[table, next_line])
    return cast(gr.Blocks, demo)
