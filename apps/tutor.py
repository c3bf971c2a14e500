"""Tutor screen: pick a skill from the knowledge tree (or type a problem), see the worked solution
with verified steps, enter your own steps for feedback and graded hints, record attempts and
watch mastery change; solve a word problem by the core's programs, with the checker's attempts.

Handlers take the tutor's service client (`context.services["tutor"]`, bound with
`functools.partial`) and plain values; any failure reaches the screen as one plain sentence.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import gradio as gr

from twincore.apps import tutor_views as views
from twincore.apps.calls import shown
from twincore.platform.components import UiContext

EXAMPLE_PROBLEM = "3x + 7 = 22"
EXAMPLE_WORD = (
    "A shop sells 12 pencils a day for 5 days, then 8 a day for 3 days. How many pencils?"
)
HINT_NAMES = {1: "Nudge", 2: "Method", 3: "Next step"}


def _steps(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def show_tree(service: Any, student: str) -> tuple[str, Any]:
    """The tree (with the student's skill states) and the skill picker's choices."""
    tree = await shown(service.tree_view(student.strip() or None))
    return views.tree_markdown(tree), gr.update(choices=views.skill_choices(tree))


async def new_problem(service: Any, skill: str | None, seed: float) -> str:
    if not skill:
        raise gr.Error("Pick a skill first.")
    (problem,) = await shown(service.problems(skill, int(seed), 1))
    return str(problem["text"])


async def recommended(service: Any, student: str) -> str:
    chosen = await shown(service.recommendation(student.strip()))
    if chosen["problem"] is None:
        raise gr.Error(chosen["reason"])
    return str(chosen["problem"]["text"])


async def solve(service: Any, problem: str) -> str:
    return views.solution_markdown(await shown(service.solve(problem)))


async def check(service: Any, problem: str, steps: str) -> tuple[str, int]:
    """The checked steps, and the hint level back to 0 (new feedback, hints start again)."""
    checked = await shown(service.check(problem, _steps(steps)))
    return views.check_markdown(checked), 0


async def hint(service: Any, problem: str, steps: str, level: int) -> tuple[str, int]:
    """Each click goes one level deeper: nudge, method, next step."""
    level = min(level + 1, 3)
    answer = await shown(service.hint(problem, _steps(steps), level))
    return f"**Hint {level} ({HINT_NAMES[level]}):** {answer['hint']}", level


async def submit(
    service: Any, student: str, problem: str, steps: str, hints: int, session_id: int | None
) -> tuple[str, list[list[Any]], str, int | None, str, Any]:
    """Record a graded attempt (starting a session on the first one), then show the new
    mastery, the next recommendation and the tree with the student's states."""
    if session_id is None:
        session_id = int((await shown(service.create_session(student.strip())))["id"])
    attempt = await shown(service.attempt(session_id, problem, _steps(steps), hints))
    mastery = await shown(service.mastery(student.strip()))
    tree_text, picker = await show_tree(service, student)
    return (
        views.attempt_line(attempt),
        views.mastery_rows(mastery),
        views.recommendation_line(mastery),
        session_id,
        tree_text,
        picker,
    )


async def word_problem(service: Any, question: str, model: str) -> str:
    """A word problem solved by the core's programs, checked, escalated when rejected."""
    if not question.strip():
        raise gr.Error("Type a word problem first.")
    return views.word_markdown(await shown(service.word_problem(question, "pal", None, model)))


async def show_mastery(service: Any, student: str) -> tuple[list[list[Any]], str]:
    mastery = await shown(service.mastery(student.strip()))
    return views.mastery_rows(mastery), views.recommendation_line(mastery)


def build(context: UiContext) -> gr.Blocks:
    service = context.services["tutor"]
    with gr.Blocks(title="Twincore tutor") as demo:
        gr.Markdown(
            "# Math tutor\nEvery step of a solution is checked by SymPy; your own steps are "
            "checked the same way, and hints go from a nudge to the method to the next step."
        )
        session = gr.State(None)
        hint_level = gr.State(0)
        with gr.Row():
            with gr.Column(scale=2):
                student = gr.Textbox(label="Student", value="student")
                tree = gr.Markdown(label="Knowledge tree")
                skill = gr.Dropdown(label="Skill", choices=[])
                seed = gr.Number(label="Seed", value=0, precision=0)
                with gr.Row():
                    generate = gr.Button("New problem")
                    suggest = gr.Button("Recommended problem")
            with gr.Column(scale=3):
                problem = gr.Textbox(label="Problem", value=EXAMPLE_PROBLEM)
                solve_button = gr.Button("Solve", variant="primary")
                solution = gr.Markdown(label="Worked solution")
                steps = gr.Textbox(label="Your steps", lines=4, placeholder="one step per line")
                with gr.Row():
                    check_button = gr.Button("Check steps")
                    hint_button = gr.Button("Hint")
                    submit_button = gr.Button("Submit attempt")
                feedback = gr.Markdown(label="Feedback")
                hint_text = gr.Markdown(label="Hint")
                recorded = gr.Markdown()
        with gr.Accordion("Word problem", open=False):
            with gr.Row():
                question = gr.Textbox(label="Question", value=EXAMPLE_WORD, scale=4)
                word_model = gr.Radio(["auto", "deep", "swift"], value="auto", label="Model")
            word_button = gr.Button("Solve with a program")
            word_answer = gr.Markdown()
        with gr.Accordion("Mastery", open=False):
            refresh = gr.Button("Show mastery")
            next_line = gr.Markdown()
            table = gr.Dataframe(headers=views.MASTERY_HEADERS, label="Mastery", interactive=False)

        demo.load(partial(show_tree, service), inputs=[student], outputs=[tree, skill])
        student.submit(partial(show_tree, service), inputs=[student], outputs=[tree, skill])
        student.change(lambda: None, outputs=[session])  # a new student starts a new session
        generate.click(
            partial(new_problem, service),
            inputs=[skill, seed],
            outputs=[problem],
            api_name="problem",
        )
        suggest.click(
            partial(recommended, service),
            inputs=[student],
            outputs=[problem],
            api_name="recommended",
        )
        solve_button.click(
            partial(solve, service), inputs=[problem], outputs=[solution], api_name="solve"
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
        for changed in (problem, steps):
            changed.change(lambda: 0, outputs=[hint_level])  # new work: hints start again
        submit_button.click(
            partial(submit, service),
            inputs=[student, problem, steps, hint_level, session],
            outputs=[recorded, table, next_line, session, tree, skill],
            api_name="attempt",
        )
        word_button.click(
            partial(word_problem, service),
            inputs=[question, word_model],
            outputs=[word_answer],
            api_name="word",
        )
        refresh.click(partial(show_mastery, service), inputs=[student], outputs=[table, next_line])
    return cast(gr.Blocks, demo)
