"""Console: the cores' health, recent routing decisions, the router's quality-vs-cost evaluation,
and a playground that says which core answered and why."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from twincore.apps.chat import chat_controls, stream_answer
from twincore.platform.components import UiContext
from twincore.platform.requestlog import recent_requests, service_summary
from twincore.platform.router.escalation import summarize_block
from twincore.platform.router.types import Decision

logger = logging.getLogger(__name__)

DECISION_COLUMNS = [
    "time",
    "service",
    "model asked",
    "core",
    "attempts",
    "reason",
    "fallback",
    "status",
    "latency ms",
    "tokens in/out",
]
DECISION_WIDTHS: list[str | int] = [
    "140px", "110px", "80px", "60px", "230px", "220px", "80px", "60px", "80px", "90px",
]  # fmt: skip
"""Wide enough that short headers ("fallback") do not wrap one letter a line."""
STRATEGY_POINTS = ["strategy", "cost", "quality"]
SWEEP = "threshold sweep"
NO_EVALUATION = "No evaluation yet: run `twincore eval router`."


class StrategyResult(BaseModel):
    model_config = ConfigDict(extra="allow")  # the table shows whatever else a strategy reports
    name: str
    quality: float
    cost: float
    deep_share: float | None = None


class CurvePoint(BaseModel):
    threshold: float
    deep_share: float
    quality: float
    cost: float


class RouterEvaluation(BaseModel):
    """`<data_dir>/evals/router.json`, as `twincore eval router` writes it."""

    created_at: str
    apgr: float | None  # None when deep was no better than swift: no gain to route for
    router_beats_random: bool
    strategies: list[StrategyResult]
    curve: list[CurvePoint] = []


def core_table(health: dict[str, Any]) -> pd.DataFrame:
    """One row per core: its own health numbers, then the router's view of it when present."""
    cores: dict[str, Any] = health.get("cores") or {}
    routed: dict[str, Any] = (health.get("router") or {}).get("cores") or {}
    rows: list[dict[str, Any]] = []
    for name in dict.fromkeys([*cores, *routed]):
        row: dict[str, Any] = {"core": name}
        for key, value in (cores.get(name) or {}).items():
            if isinstance(value, bool | int | float) or key == "error":
                row[key] = value
        for key, value in (routed.get(name) or {}).items():
            if value is None or isinstance(value, bool | int | float):
                row[f"router {key}" if key in row else key] = value
        rows.append(row)
    return _table(rows)


def decision_table(requests: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        [
            r["time"].strftime("%Y-%m-%d %H:%M:%S"),
            f"{r['service']} ({r['source']})" if r.get("service") else "",
            r["model"] or "",
            r["core"] or "",
            summarize_block({"attempts": r.get("attempts")}),
            r["reason"] or r["error"] or "",
            "yes" if r["fallback"] else "",
            r["status"],
            round(r["latency_ms"]),
            f"{r['prompt_tokens']}/{r['completion_tokens']}",
        ]
        for r in requests
    ]
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


SERVICE_COLUMNS = {
    "service": "service",
    "answers": "checked answers",
    "swift_share": "answered by swift",
    "escalation_rate": "escalated",
    "verified_rate": "checker accepted",
    "tokens_per_answer": "tokens per answer",
}
NO_SERVICE_ANSWERS = (
    "No checked service answers yet: each service's answers (API and screens) appear here."
)


def service_table(summary: list[dict[str, Any]]) -> pd.DataFrame:
    """Per service: share answered by swift, escalation and checker pass rates (as %)."""
    rows = [
        [
            row[key] if key in ("service", "answers", "tokens_per_answer") else f"{row[key]:.0%}"
            for key in SERVICE_COLUMNS
        ]
        for row in summary
    ]
    return pd.DataFrame(rows, columns=list(SERVICE_COLUMNS.values()))


def read_evaluation(path: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """Summary, plot points (strategies and the threshold sweep) and the strategies table;
    a missing or malformed file gives a message and empty tables, never an exception."""
    empty = pd.DataFrame(columns=STRATEGY_POINTS)
    try:
        evaluation = RouterEvaluation.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return NO_EVALUATION, empty, pd.DataFrame()
    except (OSError, ValidationError) as error:
        message = f"Could not read `{path}`: {_first_problem(error)}. Rerun `twincore eval router`."
        return message, empty, pd.DataFrame()
    points = [[s.name, s.cost, s.quality] for s in evaluation.strategies]
    points += [[SWEEP, p.cost, p.quality] for p in evaluation.curve]
    summary = (
        f"**APGR** {'n/a' if evaluation.apgr is None else f'{evaluation.apgr:.3f}'}"
        " · router beats random: "
        f"**{'yes' if evaluation.router_beats_random else 'no'}** · "
        f"evaluated {evaluation.created_at}"
    )
    strategies = _table([s.model_dump() for s in evaluation.strategies], digits=3)
    return summary, pd.DataFrame(points, columns=STRATEGY_POINTS), strategies


def answered_by(decision: Decision | None) -> str:
    return f"{decision.core} — {decision.reason}" if decision else ""


def _table(rows: list[dict[str, Any]], digits: int = 1) -> pd.DataFrame:
    """Rows with differing keys as one table: every key a column, blank where a row lacks it."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(column), digits) for column in columns] for row in rows]
    return pd.DataFrame(cells, columns=columns)


def _cell(value: Any, digits: int) -> Any:
    """A value a table shows plainly: floats rounded, nothing for None, JSON for containers."""
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, digits)
    return json.dumps(value) if isinstance(value, dict | list) else value


def _first_problem(error: OSError | ValidationError) -> str:
    if isinstance(error, OSError):
        return str(error)
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def build(context: UiContext) -> gr.Blocks:
    router, settings = context.router, context.settings
    evaluation_path = settings.data_dir / "evals" / "router.json"

    async def refresh_cores() -> tuple[pd.DataFrame, str]:
        try:
            health = await router.health()
        except Exception as error:  # a router replica down must not break the page
            logger.exception("console: router health failed")
            return core_table({}), f"Could not reach the router: {type(error).__name__}: {error}"
        state = "ok" if health.get("ok") else "down: no core is healthy"
        return core_table(health), f"Router **{state}**"

    async def refresh_decisions() -> tuple[pd.DataFrame, str]:
        try:
            requests = await asyncio.to_thread(
                recent_requests, database_url=settings.database_url, routed_only=True
            )
        except SQLAlchemyError as error:
            logger.exception("console: reading the request log failed")
            return decision_table([]), f"Could not read the request log: {type(error).__name__}"
        return decision_table(requests), "" if requests else "No API requests yet."

    async def refresh_services() -> tuple[pd.DataFrame, str]:
        try:
            summary = await asyncio.to_thread(service_summary, database_url=settings.database_url)
        except SQLAlchemyError as error:
            logger.exception("console: reading the request log failed")
            return service_table([]), f"Could not read the request log: {type(error).__name__}"
        return service_table(summary), "" if summary else NO_SERVICE_ANSWERS

    async def refresh_evaluation() -> tuple[str, pd.DataFrame, pd.DataFrame]:
        return await asyncio.to_thread(read_evaluation, evaluation_path)

    async def answer(
        prompt: str, model: str, max_tokens: float
    ) -> AsyncIterator[tuple[str, str, str]]:
        async for text, decision in stream_answer(router, prompt, model, int(max_tokens)):
            decision_json = json.dumps(decision.as_dict(), indent=2) if decision else ""
            yield text, answered_by(decision), decision_json

    with gr.Blocks(title="Twincore console") as demo:
        gr.Markdown("# Twincore console")
        with gr.Tab("Cores"):
            cores_status = gr.Markdown()
            cores = gr.Dataframe(label="Cores", interactive=False, elem_id="console-cores")
            cores_button = gr.Button("Refresh cores")
        with gr.Tab("Recent decisions"):
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
            summary = gr.Markdown(NO_EVALUATION, elem_id="console-evaluation")
            plot = gr.ScatterPlot(x="cost", y="quality", color="strategy", label="Quality vs cost")
            strategies = gr.Dataframe(
                label="Strategies", interactive=False, elem_id="console-strategies"
            )
            evaluation_button = gr.Button("Reload evaluation")
        with gr.Tab("Playground"):
            chat = chat_controls()
            core = gr.Textbox(label="Answered by", max_lines=1, interactive=False)
            decision = gr.Code(label="Routing decision", language="json", interactive=False)

        cores_outputs = [cores, cores_status]
        decision_outputs = [decisions, decisions_status]
        evaluation_outputs = [summary, plot, strategies]
        service_outputs = [services_table, services_status]
        services_button.click(refresh_services, outputs=service_outputs, api_name="services")
        demo.load(refresh_services, outputs=service_outputs, api_visibility="private")
        cores_button.click(refresh_cores, outputs=cores_outputs, api_name="cores")
        decisions_button.click(refresh_decisions, outputs=decision_outputs, api_name="decisions")
        evaluation_button.click(
            refresh_evaluation, outputs=evaluation_outputs, api_name="evaluation"
        )
        demo.load(refresh_cores, outputs=cores_outputs, api_visibility="private")
        demo.load(refresh_decisions, outputs=decision_outputs, api_visibility="private")
        demo.load(refresh_evaluation, outputs=evaluation_outputs, api_visibility="private")
        chat.send.click(
            answer,
            inputs=[chat.prompt, chat.model, chat.max_tokens],
            outputs=[chat.reply, core, decision],
            api_name="chat",
        )
    return cast(gr.Blocks, demo)
