"""Console: the cores' health, recent routing decisions from every caller, checked answers per
service, the router's quality-vs-cost evaluation (and a button that runs one), and a playground."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import gradio as gr
from sqlalchemy.exc import SQLAlchemyError

from twincore.apps.calls import friendly
from twincore.apps.console_eval import DEFAULT_PER_SERVICE, EvalJob
from twincore.apps.console_tables import (
    DECISION_COLUMNS,
    DECISION_WIDTHS,
    NO_DECISIONS,
    NO_SERVICE_ANSWERS,
    SERVICE_COLUMNS,
    core_table,
    decision_table,
    padded_range,
    read_evaluation,
    service_table,
)
from twincore.apps.playground import chat_panel
from twincore.platform.components import UiContext
from twincore.platform.errors import user_message
from twincore.platform.requestlog import recent_requests, service_summary

logger = logging.getLogger(__name__)

POLL_S = 2.0
"""How often the screen reads an evaluation job's progress while one runs."""


def build(context: UiContext) -> gr.Blocks:
    router, settings = context.router, context.settings
    evaluation_path = settings.data_dir / "evals" / "router.json"
    job = EvalJob(settings)

    @friendly
    async def refresh_cores() -> tuple[Any, str]:
        try:
            health = await router.health()
        except Exception as error:  # a router replica down must not break the page
            logger.exception("console: router health failed")
            return core_table({}), f"Could not reach the router: {user_message(error)}"
        state = "ok" if health.get("ok") else "down: no core is healthy"
        return core_table(health), f"Router **{state}**"

    @friendly
    async def refresh_decisions() -> tuple[Any, str]:
        try:
            requests = await asyncio.to_thread(
                recent_requests, database_url=settings.database_url, limit=50, routed_only=True
            )
        except SQLAlchemyError:
            logger.exception("console: reading the request log failed")
            return decision_table([]), "Could not read the request log (see the server log)."
        return decision_table(requests), "" if requests else NO_DECISIONS

    @friendly
    async def refresh_services() -> tuple[Any, str]:
        try:
            summary = await asyncio.to_thread(service_summary, database_url=settings.database_url)
        except SQLAlchemyError:
            logger.exception("console: reading the request log failed")
            return service_table([]), "Could not read the request log (see the server log)."
        return service_table(summary), "" if summary else NO_SERVICE_ANSWERS

    async def evaluation_view() -> tuple[str, Any, Any]:
        summary, points, strategies = await asyncio.to_thread(read_evaluation, evaluation_path)
        shown = not points.empty
        return (
            summary,
            gr.ScatterPlot(value=points, visible=shown, x_lim=padded_range(points)),
            gr.Dataframe(value=strategies, visible=shown),
        )

    @friendly
    async def refresh_evaluation() -> tuple[str, Any, Any]:
        return await evaluation_view()

    def job_state() -> tuple[str, gr.Timer]:
        """A page opened while a job runs picks its progress up."""
        return job.progress().line(), gr.Timer(active=job.progress().state == "running")

    @friendly
    def start_evaluation(per_service: float | None) -> tuple[str, gr.Timer]:
        message = job.start(int(per_service or DEFAULT_PER_SERVICE))
        return message, gr.Timer(active=job.progress().state == "running")

    @friendly
    async def poll_evaluation() -> tuple[Any, ...]:
        progress = job.progress()
        if progress.state == "running":
            return progress.line(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        # Finished since the last poll: stop polling and show the new report.
        summary, plot, strategies = await evaluation_view()
        return progress.line(), gr.Timer(active=False), summary, plot, strategies

    with gr.Blocks(title="Twincore console") as demo:
        gr.Markdown("# Twincore console")
        with gr.Tab("Cores"):
            cores_status = gr.Markdown()
            cores = gr.Dataframe(label="Cores", interactive=False, elem_id="console-cores")
            cores_button = gr.Button("Refresh cores")
        with gr.Tab("Recent decisions") as decisions_tab:
            gr.Markdown(
                "The newest 50 routed requests from every caller: the OpenAI API, each "
                "service's API, and the screens (`ui`), stopped and failed ones included."
            )
            decisions = gr.Dataframe(
                headers=DECISION_COLUMNS,
                label="Recent decisions",
                interactive=False,
                wrap=True,
                column_widths=DECISION_WIDTHS,
                elem_id="console-decisions",
            )
            decisions_status = gr.Markdown()
            decisions_button = gr.Button("Refresh decisions")
        with gr.Tab("Services"):
            services_table = gr.Dataframe(
                headers=list(SERVICE_COLUMNS.values()),
                label="Checked answers per service",
                interactive=False,
                elem_id="console-services",
            )
            services_status = gr.Markdown()
            services_button = gr.Button("Refresh services")
        with gr.Tab("Quality vs cost"):
            summary = gr.Markdown(elem_id="console-evaluation")
            plot = gr.ScatterPlot(
                x="cost",
                y="quality",
                color="strategy",
                label="Quality vs cost (each strategy; the sweep is the router's thresholds)",
                y_lim=[-0.03, 1.03],  # quality is a share of items passed; a point at 1 stays whole
                height=460,  # room for the legend under the axis
                visible=False,
                elem_id="console-plot",
            )
            strategies = gr.Dataframe(
                label="Strategies",
                interactive=False,
                visible=False,
                elem_id="console-strategies",
            )
            with gr.Row(elem_id="console-eval-controls"):
                per_service = gr.Number(
                    DEFAULT_PER_SERVICE,
                    label="Items per service",
                    info="each answered on swift and on deep; a few keep the run to minutes",
                    minimum=1,
                    maximum=200,
                    precision=0,
                    scale=2,
                )
                run_button = gr.Button("Run evaluation", variant="primary", scale=1)
                evaluation_button = gr.Button("Reload evaluation", scale=1)
            job_status = gr.Markdown(elem_id="console-eval-status")
            poll = gr.Timer(POLL_S, active=False)
        with gr.Tab("Playground"):
            chat_panel(context, screen="console")

        cores_outputs = [cores, cores_status]
        decision_outputs = [decisions, decisions_status]
        evaluation_outputs = [summary, plot, strategies]
        service_outputs = [services_table, services_status]
        services_button.click(refresh_services, outputs=service_outputs, api_name="services")
        cores_button.click(refresh_cores, outputs=cores_outputs, api_name="cores")
        decisions_button.click(refresh_decisions, outputs=decision_outputs, api_name="decisions")
        decisions_tab.select(refresh_decisions, outputs=decision_outputs, api_visibility="private")
        evaluation_button.click(
            refresh_evaluation, outputs=evaluation_outputs, api_name="evaluation"
        )
        run_button.click(
            start_evaluation, inputs=per_service, outputs=[job_status, poll], api_name="evaluate"
        )
        poll.tick(
            poll_evaluation,
            outputs=[job_status, poll, *evaluation_outputs],
            show_progress="hidden",
            api_visibility="private",
        )
        for refresh, outputs in (
            (refresh_services, service_outputs),
            (refresh_cores, cores_outputs),
            (refresh_decisions, decision_outputs),
            (refresh_evaluation, evaluation_outputs),
        ):
            demo.load(refresh, outputs=outputs, api_visibility="private")
        # A page opened while a job runs picks its progress up.
        demo.load(
            friendly(job_state),
            outputs=[job_status, poll],
            api_visibility="private",
        )
    return cast(gr.Blocks, demo)
