"""AML screen: pick or upload a dataset, run detection, inspect an alert's network, work a case
and draft its SAR narrative (streamed, cancellable).

Handlers take the AML service client (`context.services["aml"]`, bound with `functools.partial`)
and plain values; any failure reaches the screen as one plain sentence in a toast.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any, cast

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.apps import aml_views as views
from twincore.apps.aml_graph import subgraph_figure
from twincore.apps.calls import friendly, shown, shown_stream
from twincore.platform.components import UiContext

STATUSES = ["investigating", "escalated", "sar_filed", "closed", "open"]
DATA_TAB, CASES_TAB = "data", "cases"


@friendly
async def load_screen(service: Any) -> tuple[Any, Any, pd.DataFrame]:
    """On load: the datasets, and the cases already open (picker and table)."""
    cases = await shown(service.list_cases())
    picker = views.case_picker(cases, cases[0]["id"] if cases else None)
    return await _dataset_choices(service), picker, views.cases_table(cases)


@friendly
async def upload(service: Any, path: str | None, name: str, fmt: str) -> tuple[str, Any]:
    if not path:
        raise gr.Error("Choose a file to upload first.")
    data = await asyncio.to_thread(Path(path).read_bytes)
    dataset_name = name.strip() or Path(path).name.split(".")[0]
    row = await shown(
        service.ingest_upload(data, filename=Path(path).name, name=dataset_name, fmt=fmt)
    )
    return views.ingested(row), await _dataset_choices(service, row["id"])


@friendly
async def ingest_sample(service: Any, sample: str) -> tuple[str, Any]:
    row = await shown(service.ingest_sample(sample))
    return views.ingested(row), await _dataset_choices(service, row["id"])


@friendly
async def run(
    service: Any, dataset_id: int | None, budget: float
) -> tuple[str, pd.DataFrame, Any, Any]:
    """The run's summary, its alert table, the alert picker (first alert chosen) and the CSV
    download of the alerts."""
    if dataset_id is None:
        raise gr.Error("Pick a dataset first.")
    result = await shown(service.run_detection(int(dataset_id), budget=int(budget)))
    alerts = await shown(service.list_alerts(result["id"]))
    csv_text = await shown(service.alerts_csv(result["id"]))
    folder = Path(tempfile.mkdtemp(prefix="twincore-aml-"))
    path = folder / f"aml-run-{result['id']}-alerts.csv"
    await asyncio.to_thread(path.write_text, csv_text, encoding="utf-8")
    choices = [(views.alert_choice(a), a["id"]) for a in alerts]
    picker = gr.update(choices=choices, value=choices[0][1] if choices else None)
    download = gr.update(value=str(path), visible=bool(alerts))
    return views.run_summary(result), views.alert_table(alerts), picker, download


@friendly
async def show_alert(service: Any, alert_id: int | None) -> tuple[Any, pd.DataFrame, str]:
    """The alert's network picture, its transactions and what raised it."""
    if alert_id is None:
        raise gr.Error("Run detection and pick an alert first.")
    alert = await shown(service.get_alert(int(alert_id)))
    title = f"Alert #{alert['rank']}: {alert['account']}"
    # Off the event loop: laying out the network takes a second or two, and every screen of the
    # gateway shares that loop.
    figure = await asyncio.to_thread(subgraph_figure, alert["subgraph"], title)
    return figure, views.transactions_table(alert["subgraph"]), views.alert_text(alert)


@friendly
async def open_case(
    service: Any, alert_id: int | None, actor: str, assignee: str
) -> tuple[Any, ...]:
    """Open the alert's case, or go to the one its account already has; either way the Cases
    tab shows it with a sentence saying which."""
    if alert_id is None:
        raise gr.Error("Pick an alert first.")
    case = await shown(service.open_case(int(alert_id), actor=actor, assignee=assignee or None))
    if case["existing"]:
        notice = (
            f"**{case['account']} already has case {case['id']}** "
            f"(status {case['status']}), so no new case was opened: here it is."
        )
    else:
        notice = f"**Opened case {case['id']}** for {case['account']}."
    picker, table = await _cases(service, case["id"])
    return (
        notice,
        notice,
        gr.Tabs(selected=CASES_TAB),
        picker,
        table,
        *await _case_view(service, case["id"]),
    )


@friendly
async def refresh_cases(service: Any, case_id: int | None) -> tuple[Any, pd.DataFrame]:
    return await _cases(service, case_id)


@friendly
async def load_case(service: Any, case_id: int | None) -> tuple[str, pd.DataFrame, str, str]:
    """The case header, its audit trail, the latest narrative and that narrative's check."""
    return await _case_view(service, case_id)


@friendly
async def set_status(
    service: Any, case_id: int | None, new: str, reason: str, actor: str
) -> tuple[Any, ...]:
    cid = _case_id(case_id)
    await shown(service.change_status(cid, status=new, actor=actor, reason=reason or None))
    picker, table = await _cases(service, cid)
    return picker, table, *await _case_view(service, cid)


@friendly
async def add_note(
    service: Any, case_id: int | None, text: str, actor: str
) -> tuple[str, pd.DataFrame, str, str]:
    cid = _case_id(case_id)
    await shown(service.add_note(cid, text=text, actor=actor))
    return await _case_view(service, cid)


@friendly
async def draft(
    service: Any, case_id: int | None, actor: str, model: str
) -> AsyncIterator[tuple[Any, ...]]:
    """Stream the SAR draft: (progress line, narrative so far, header, audit trail, check);
    the stored narrative and its check at the end."""
    cid = _case_id(case_id)
    skip, idle = gr.skip(), gr.update(interactive=False)
    progress = views.DraftProgress(started=time.monotonic())
    events = service.stream_call("draft_events", cid, actor=actor, model=model)
    yield progress.line(), "", skip, skip, "", gr.update(interactive=True)
    try:
        async for event in shown_stream(events):
            if progress.see(event):
                yield progress.line(), progress.text, skip, skip, skip, skip
    except Exception:
        # The toast says why; the progress line must not keep saying "writing".
        yield "**Drafting stopped**: nothing was stored.", skip, skip, skip, skip, idle
        raise
    header, trail, text, check = await _case_view(service, cid)
    done = progress.done_line()
    yield done, text, header, trail, check, idle


@friendly
def cancelled() -> tuple[str, Any]:
    return "**Drafting cancelled**: nothing was stored.", gr.update(interactive=False)


@friendly
async def save_edit(
    service: Any, case_id: int | None, text: str, actor: str
) -> tuple[str, pd.DataFrame, str, str]:
    cid = _case_id(case_id)
    await shown(service.edit_narrative(cid, text=text, actor=actor))
    return await _case_view(service, cid)


def build(context: UiContext) -> gr.Blocks:
    service = context.services["aml"]
    with gr.Blocks(title="Twincore AML") as demo:
        gr.Markdown(
            "# AML detection\nDetection runs without any model; a core drafts SARs, and a "
            "draft whose numbers or sections fail the check is repaired or escalated."
        )
        actor = gr.Textbox("analyst", label="You (recorded in the audit trail)")
        with gr.Tabs() as tabs:
            with gr.Tab("Data and detection", id=DATA_TAB):
                with gr.Row():
                    with gr.Column():
                        upload_file = gr.File(label="Upload a dataset (CSV, .tgz or .zip)")
                        upload_name = gr.Textbox(label="Dataset name")
                        upload_format = gr.Radio(
                            ["auto", "amlsim", "amlworld", "canonical"],
                            value="auto",
                            label="Format",
                        )
                        upload_button = gr.Button("Ingest upload")
                    with gr.Column():
                        sample = gr.Dropdown(
                            ["20K_cycle200", "20K_fanin200"], value="20K_fanin200", label="Sample"
                        )
                        sample_button = gr.Button("Ingest sample")
                        dataset = gr.Dropdown([], label="Dataset", interactive=True)
                        budget = gr.Number(50, label="Alert budget", precision=0, minimum=1)
                        run_button = gr.Button("Run detection", variant="primary")
                ingest_status = gr.Markdown()
                run_summary = gr.Markdown()
                alert_table = gr.Dataframe(
                    headers=views.ALERT_COLUMNS,
                    label="Alerts (an account raised again by a later run keeps its alert)",
                    interactive=False,
                    wrap=True,
                    elem_id="aml-alerts",
                )
                download = gr.DownloadButton("Download alerts (CSV)", visible=False, size="sm")
                with gr.Row():
                    alert_pick = gr.Dropdown([], label="Alert", interactive=True, scale=4)
                    show_button = gr.Button("Show alert", scale=1)
                alert_info = gr.Markdown()
                graph = gr.Plot(label="Alert network", elem_id="aml-graph")
                alert_txns = gr.Dataframe(
                    headers=views.TXN_COLUMNS,
                    label="Transactions of the alert",
                    interactive=False,
                    max_height=320,
                )
                with gr.Row():
                    assignee = gr.Textbox(label="Assignee", scale=3)
                    open_button = gr.Button("Open case", variant="primary", scale=1)
                open_notice = gr.Markdown(elem_id="aml-open-notice")
            with gr.Tab("Cases", id=CASES_TAB):
                case_notice = gr.Markdown(elem_id="aml-case-notice")
                cases_table = gr.Dataframe(
                    headers=views.CASE_COLUMNS,
                    label="Cases",
                    interactive=False,
                    max_height=260,
                    elem_id="aml-cases",
                )
                with gr.Row():
                    case_pick = gr.Dropdown([], label="Case", interactive=True, scale=4)
                    refresh_button = gr.Button("Refresh", scale=1)
                case_header = gr.Markdown()
                with gr.Row():
                    new_status = gr.Dropdown(STATUSES, value="investigating", label="Move to")
                    reason = gr.Textbox(label="Reason (needed to close or reopen)")
                    status_button = gr.Button("Update status")
                with gr.Row():
                    note = gr.Textbox(label="Note")
                    note_button = gr.Button("Add note")
                events = gr.Dataframe(
                    headers=views.EVENT_COLUMNS, label="Audit trail", interactive=False, wrap=True
                )
                with gr.Row():
                    core = gr.Radio(
                        ["deep", "swift", "auto"], value="deep", label="Core that drafts"
                    )
                    draft_button = gr.Button("Draft SAR narrative", variant="primary")
                    cancel_button = gr.Button("Cancel draft", variant="stop", interactive=False)
                draft_progress = gr.Markdown(elem_id="aml-draft-progress")
                narrative = gr.Textbox(label="Narrative (edit and save as a new version)", lines=12)
                save_button = gr.Button("Save edit")
                check = gr.Markdown()

        case_outputs = [case_header, events, narrative, check]
        demo.load(partial(load_screen, service), outputs=[dataset, case_pick, cases_table])
        upload_button.click(
            partial(upload, service),
            inputs=[upload_file, upload_name, upload_format],
            outputs=[ingest_status, dataset],
            api_name="upload",
        )
        sample_button.click(
            partial(ingest_sample, service),
            inputs=sample,
            outputs=[ingest_status, dataset],
            api_name="sample",
        )
        run_button.click(
            partial(run, service),
            inputs=[dataset, budget],
            outputs=[run_summary, alert_table, alert_pick, download],
            api_name="run",
        )
        show_button.click(
            partial(show_alert, service),
            inputs=alert_pick,
            outputs=[graph, alert_txns, alert_info],
            api_name="alert",
        )
        open_button.click(
            partial(open_case, service),
            inputs=[alert_pick, actor, assignee],
            outputs=[open_notice, case_notice, tabs, case_pick, cases_table, *case_outputs],
            api_name="open_case",
        )
        refresh_button.click(
            partial(refresh_cases, service), inputs=case_pick, outputs=[case_pick, cases_table]
        )
        case_pick.change(partial(load_case, service), inputs=case_pick, outputs=case_outputs)
        status_button.click(
            partial(set_status, service),
            inputs=[case_pick, new_status, reason, actor],
            outputs=[case_pick, cases_table, *case_outputs],
            api_name="status",
        )
        note_button.click(
            partial(add_note, service), inputs=[case_pick, note, actor], outputs=case_outputs
        )
        drafting = draft_button.click(
            partial(draft, service),
            inputs=[case_pick, actor, core],
            outputs=[draft_progress, narrative, case_header, events, check, cancel_button],
            api_name="draft",
        )
        cancel_button.click(cancelled, outputs=[draft_progress, cancel_button], cancels=[drafting])
        save_button.click(
            partial(save_edit, service), inputs=[case_pick, narrative, actor], outputs=case_outputs
        )
    return cast(gr.Blocks, demo)


async def _dataset_choices(service: Any, selected: int | None = None) -> Any:
    rows = await shown(service.list_datasets())
    choices = [(f"{r['name']} ({r['transactions']:,} transactions)", r["id"]) for r in rows]
    value = selected if selected is not None else (choices[-1][1] if choices else None)
    return gr.update(choices=choices, value=value)


async def _cases(service: Any, case_id: int | None) -> tuple[Any, pd.DataFrame]:
    cases = await shown(service.list_cases())
    return views.case_picker(cases, case_id), views.cases_table(cases)


async def _case_view(service: Any, case_id: int | None) -> tuple[str, pd.DataFrame, str, str]:
    if case_id is None:
        return "No case selected.", views.events_table([]), "", ""
    case = await shown(service.get_case(int(case_id)))
    latest = case["narratives"][-1] if case["narratives"] else None
    return (
        views.case_header(case),
        views.events_table(case["events"]),
        latest["text"] if latest else "",
        views.check_report(latest) if latest else "",
    )


def _case_id(case_id: int | None) -> int:
    if case_id is None:
        raise gr.Error("Pick or open a case first.")
    return int(case_id)
