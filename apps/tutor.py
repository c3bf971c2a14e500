"""Tutor screen: pick a skill from the knowledge tree (or type a problem), see the worked solution
with verified steps, enter your own steps for feedback and graded hints, record attempts and
watch mastery change."""

from __future__ import annotations

from typing import Any, cast

import gradio as gr

from twincore.apps import tutor_views as views
from twincore.platform.components import UiComponent, UiContext

EXAMPLE_PROBLEM = "3x + 7 = 22"


def _error(error: Exception) -> gr.Error:
    if isinstance(error, KeyError) and error.args:
        return gr.Error(str(error.args[0]))
    return gr.Error(str(error))


def _steps(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def build(context: UiContext) -> gr.Blocks:
    service = context.services["tutor"]

    async def show_tree(student: str) -> tuple[str, Any]:
        try:
            tree = await service.tree_view(student.strip() or None)
        except (ValueError, LookupError) as error:
            raise _error(error) from error
        return views.tree_markdown(tree), gr.update(choices=views.skill_choices(tree))

    async def new_problem(skill: str | None, seed: float) -> str:
        if not skill:
            raise gr.Error("pick a skill first")
        try:
            (problem,) = await service.problems(skill, int(seed), 1)
        except (ValueError, LookupError) as error:
            raise _error(error) from error
        return str(problem["text"])

    async def solve(problem: str) -> str:
        try:
            return views.solution_markdown(await service.solve(problem))
        except ValueError as error:
            raise _error(error) from error

    async def check(problem: str, steps: str) -> tuple[str, int]:
        try:
            checked = await service.check(problem, _steps(steps))
        except ValueError as error:
            raise _error(error) from error
        return views.check_markdown(checked), 0

    async def hint(problem: str, steps: str, level: int) -> tuple[str, int]:
        level = min(level + 1, 3)  # each click goes one level deeper: nudge, method, next step
        try:
            answer = await service.hint(problem, _steps(steps), level)
        except ValueError as error:
            raise _error(error) from error
        names = {1: "Nudge", 2: "Method", 3: "Next step"}
        return f"**Hint {level} ({names[level]}):** {answer['hint']}", level

    async def submit(
        student: str, problem: str, steps: str, hints: int, session_id: int | None
    ) -> tuple[str, list[list[Any]], str, int | None, str, Any]:
        try:
            if session_id is None:
                session_id = int((await service.create_session(student.strip()))["id"])
            attempt = await service.attempt(session_id, problem, _steps(steps), hints)
            mastery = await service.mastery(student.strip())
            tree_text, picker = await show_tree(student)
        except (ValueError, LookupError) as error:
            raise _error(error) from error
        return (
            views.attempt_line(attempt),
            views.mastery_rows(mastery),
            views.recommendation_line(mastery),
            session_id,
            tree_text,
            picker,
        )

    async def show_mastery(student: str) -> tuple[list[list[Any]], str]:
        try:
            mastery = await service.mastery(student.strip())
        except ValueError as error:
            raise _error(error) from error
        return views.mastery_rows(mastery), views.recommendation_line(mastery)

    async def recommended(student: str) -> str:
        try:
            chosen = await service.recommendation(student.strip())
        except ValueError as error:
            raise _error(error) from error
        if chosen["problem"] is None:
            raise gr.Error(chosen["reason"])
        return str(chosen["problem"]["text"])

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
        with gr.Accordion("Mastery", open=False):
            refresh = gr.Button("Show mastery")
            next_line = gr.Markdown()
            table = gr.Dataframe(headers=views.MASTERY_HEADERS, label="Mastery", interactive=False)

        demo.load(show_tree, inputs=[student], outputs=[tree, skill])
        student.submit(show_tree, inputs=[student], outputs=[tree, skill])
        student.change(lambda: None, outputs=[session])  # a new student starts a new session
        generate.click(new_problem, inputs=[skill, seed], outputs=[problem], api_name="problem")
        suggest.click(recommended, inputs=[student], outputs=[problem], api_name="recommended")
        solve_button.click(solve, inputs=[problem], outputs=[solution], api_name="solve")
        check_button.click(
            check, inputs=[problem, steps], outputs=[feedback, hint_level], api_name="check"
        )
        hint_button.click(
            hint,
            inputs=[problem, steps, hint_level],
            outputs=[hint_text, hint_level],
            api_name="hint",
        )
        for changed in (problem, steps):
            changed.change(lambda: 0, outputs=[hint_level])  # new work: hints start again
        submit_button.click(
            submit,
            inputs=[student, problem, steps, hint_level, session],
            outputs=[recorded, table, next_line, session, tree, skill],
            api_name="attempt",
        )
        refresh.click(show_mastery, inputs=[student], outputs=[table, next_line])
    return cast(gr.Blocks, demo)


COMPONENTS = (UiComponent(name="tutor", title="Math tutor", build=build),)
