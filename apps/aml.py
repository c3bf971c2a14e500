"""AML screen: pick or upload a dataset, run detection, inspect an alert's subgraph, work a case
and draft its SAR narrative.

Handlers take the AML service client (`context.services["aml"]`, bound with `functools.partial`)
and plain values; any failure reaches the screen as one plain sentence.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any, cast

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.apps.aml_graph import subgraph_figure
from twincore.apps.calls import shown
from twincore.platform.components import UiContext
from twincore.platform.router.escalation import summarize_block

ALERT_COLUMNS = ["alert", "rank", "account", "score", "patterns", "reasons", "case"]
TXN_COLUMNS = ["time", "from", "to", "amount", "currency", "format", "label"]
EVENT_COLUMNS = ["at", "actor", "kind", "from_status", "to_status", "detail"]
STATUSES = ["investigating", "escalated", "sar_filed", "closed", "open"]


async def dataset_choices(service: Any, selected: int | None = None) -> dict[str, Any]:
    rows = await shown(service.list_datasets())
    choices = [(f"{r['name']} ({r['transactions']:,} transactions)", r["id"]) for r in rows]
    value = selected if selected is not None else (choices[-1][1] if choices else None)
    return gr.update(choices=choices, value=value)


async def upload(service: Any, path: str | None, name: str, fmt: str) -> tuple[str, dict[str, Any]]:
    if not path:
        raise gr.Error("Choose a file to upload first.")
    data = await asyncio.to_thread(Path(path).read_bytes)
    dataset_name = name.strip() or Path(path).name.split(".")[0]
    row = await shown(
        service.ingest_upload(data, filename=Path(path).name, name=dataset_name, fmt=fmt)
    )
    return _ingested(row), await dataset_choices(service, row["id"])


async def ingest_sample(service: Any, sample: str) -> tuple[str, dict[str, Any]]:
    row = await shown(service.ingest_sample(sample))
    return _ingested(row), await dataset_choices(service, row["id"])


async def run(
    service: Any, dataset_id: int | None, budget: float
) -> tuple[str, pd.DataFrame, dict[str, Any]]:
    """The run's summary, its alert table and the alert picker (first alert chosen)."""
    if dataset_id is None:
        raise gr.Error("Pick a dataset first.")
    result = await shown(service.run_detection(int(dataset_id), budget=int(budget)))
    alerts = await shown(service.list_alerts(result["id"]))
    hits = result["stats"].get("pattern_hits", {})
    summary = (
        f"Run {result['id']}: {result['alerts']} alerts "
        f"({'model ' + result['model_version'] if result['model_version'] else 'rule score'})"
        + (f"; pattern hits: {', '.join(f'{k} {v}' for k, v in hits.items())}" if hits else "")
    )
    choices = [(f"#{a['rank']} {a['account']} ({a['score']:.2f})", a["id"]) for a in alerts]
    first = choices[0][1] if choices else None
    picker = gr.update(choices=choices, value=first)
    return summary, _alert_table(alerts), picker


async def show_alert(service: Any, alert_id: int | None) -> tuple[Any, pd.DataFrame, str]:
    """The subgraph picture, its transactions and the alert's reasons."""
    if alert_id is None:
        raise gr.Error("Run detection and pick an alert first.")
    alert = await shown(service.get_alert(int(alert_id)))
    title = f"Alert #{alert['rank']}: {alert['account']} (score {alert['score']:.2f})"
    figure = subgraph_figure(alert["subgraph"], title)
    txns = pd.DataFrame(alert["subgraph"]["transactions"], columns=TXN_COLUMNS)
    reasons = "\n".join(f"- {r}" for r in alert["reasons"]) or "- (no reasons recorded)"
    patterns = ", ".join(alert["patterns"]) or "risk score only"
    case = f"\n\nCase {alert['case_id']} is open for this alert." if alert["case_id"] else ""
    return figure, txns, f"**{title}**\n\nPatterns: {patterns}\n\n{reasons}{case}"


async def case_choices(service: Any, selected: int | None = None) -> dict[str, Any]:
    rows = await shown(service.list_cases())
    choices = [(f"case {c['id']}: {c['account']} [{c['status']}]", c["id"]) for c in rows]
    return gr.update(choices=choices, value=selected)


async def load_case(service: Any, case_id: int | None) -> tuple[str, pd.DataFrame, str, str]:
    """The case header, its audit trail, the latest narrative and that narrative's check."""
    if case_id is None:
        return "No case selected.", pd.DataFrame(columns=EVENT_COLUMNS), "", ""
    case = await shown(service.get_case(int(case_id)))
    header = (
        f"**Case {case['id']}** · status **{case['status']}** · account {case['account']} · "
        f"assignee {case['assignee'] or '-'} · alert {case['alert_id']}"
        + (f" · closed: {case['close_reason']}" if case["close_reason"] else "")
    )
    events = pd.DataFrame(case["events"], columns=EVENT_COLUMNS)
    latest = case["narratives"][-1] if case["narratives"] else None
    return (
        header,
        events,
        latest["text"] if latest else "",
        _check_report(latest) if latest else "",
    )


async def open_case(
    service: Any, alert_id: int | None, actor: str, assignee: str
) -> tuple[Any, ...]:
    """The case picker (the new case chosen), then the case as `load_case` shows it."""
    if alert_id is None:
        raise gr.Error("Pick an alert first.")
    case = await shown(service.open_case(int(alert_id), actor=actor, assignee=assignee or None))
    return (await case_choices(service, case["id"]), *await load_case(service, case["id"]))


async def set_status(
    service: Any, case_id: int | None, new: str, reason: str, actor: str
) -> tuple[Any, ...]:
    cid = _case_id(case_id)
    await shown(service.change_status(cid, status=new, actor=actor, reason=reason or None))
    return (await case_choices(service, cid), *await load_case(service, cid))


async def add_note(
    service: Any, case_id: int | None, text: str, actor: str
) -> tuple[str, pd.DataFrame, str, str]:
    cid = _case_id(case_id)
    await shown(service.add_note(cid, text=text, actor=actor))
    return await load_case(service, cid)


async def draft(
    service: Any, case_id: int | None, actor: str, model: str
) -> tuple[str, pd.DataFrame, str, str]:
    cid = _case_id(case_id)
    await shown(service.draft_narrative(cid, actor=actor, model=model))
    return await load_case(service, cid)


async def save_edit(
    service: Any, case_id: int | None, text: str, actor: str
) -> tuple[str, pd.DataFrame, str, str]:
    cid = _case_id(case_id)
    await shown(service.edit_narrative(cid, text=text, actor=actor))
    return await load_case(service, cid)


def build(context: UiContext) -> gr.Blocks:
    service = context.services["aml"]
    with gr.Blocks(title="Twincore AML") as demo:
        gr.Markdown(
            "# AML detection\nDetection runs without any model; a core drafts SARs, and a "
            "draft whose numbers or sections fail the check is repaired or escalated."
        )
        with gr.Row():
            actor = gr.Textbox("analyst", label="You (recorded in the audit trail)", scale=1)
        with gr.Tab("Data and detection"):
            with gr.Row():
                with gr.Column():
                    upload_file = gr.File(label="Upload a dataset (CSV, .tgz or .zip)")
                    upload_name = gr.Textbox(label="Dataset name")
                    upload_format = gr.Radio(
                        ["auto", "amlsim", "amlworld", "canonical"], value="auto", label="Format"
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
            alert_table = gr.Dataframe(headers=ALERT_COLUMNS, label="Alerts", interactive=False)
            with gr.Row():
                alert_pick = gr.Dropdown([], label="Alert", interactive=True)
                show_button = gr.Button("Show alert")
            alert_info = gr.Markdown()
            graph = gr.Plot(label="Alert subgraph")
            alert_txns = gr.Dataframe(headers=TXN_COLUMNS, label="Transactions", interactive=False)
            with gr.Row():
                assignee = gr.Textbox(label="Assignee")
                open_button = gr.Button("Open case", variant="primary")
        with gr.Tab("Cases"):
            with gr.Row():
                case_pick = gr.Dropdown([], label="Case", interactive=True)
                refresh_cases = gr.Button("Refresh")
            case_header = gr.Markdown()
            with gr.Row():
                new_status = gr.Dropdown(STATUSES, value="investigating", label="Move to")
                reason = gr.Textbox(label="Reason (needed to close or reopen)")
                status_button = gr.Button("Update status")
            with gr.Row():
                note = gr.Textbox(label="Note")
                note_button = gr.Button("Add note")
            events = gr.Dataframe(headers=EVENT_COLUMNS, label="Audit trail", interactive=False)
            with gr.Row():
                core = gr.Radio(["deep", "swift", "auto"], value="deep", label="Core that drafts")
                draft_button = gr.Button("Draft SAR narrative")
            narrative = gr.Textbox(label="Narrative (edit and save as a new version)", lines=12)
            save_button = gr.Button("Save edit")
            check = gr.Markdown()

        case_outputs = [case_header, events, narrative, check]
        demo.load(partial(dataset_choices, service), outputs=dataset)
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
            outputs=[run_summary, alert_table, alert_pick],
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
            outputs=[case_pick, *case_outputs],
            api_name="open_case",
        )
        refresh_cases.click(partial(case_choices, service), outputs=case_pick)
        case_pick.change(partial(load_case, service), inputs=case_pick, outputs=case_outputs)
        status_button.click(
            partial(set_status, service),
            inputs=[case_pick, new_status, reason, actor],
            outputs=[case_pick, *case_outputs],
            api_name="status",
        )
        note_button.click(
            partial(add_note, service), inputs=[case_pick, note, actor], outputs=case_outputs
        )
        draft_button.click(
            partial(draft, service),
            inputs=[case_pick, actor, core],
            outputs=case_outputs,
            api_name="draft",
        )
        save_button.click(
            partial(save_edit, service), inputs=[case_pick, narrative, actor], outputs=case_outputs
        )
    return cast(gr.Blocks, demo)


def _ingested(row: dict[str, Any]) -> str:
    return (
        f"Stored **{row['name']}**: {row['accounts']:,} accounts, "
        f"{row['transactions']:,} transactions ({row['source_format']}, "
        f"labels: {row['label_level'] or 'none'})."
    )


def _alert_table(alerts: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        [
            a["id"],
            a["rank"],
            a["account"],
            a["score"],
            ", ".join(a["patterns"]),
            "; ".join(a["reasons"][:3]),
            a["case_id"] or "",
        ]
        for a in alerts
    ]
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


def _check_report(entry: dict[str, Any]) -> str:
    check, block = entry["check"], entry.get("twincore")
    who = f"version {entry['version']} ({entry['source']} by {entry['author']}"
    who += f", core {entry['core']})" if entry["core"] else ")"
    attempts = f"\n\nAttempts: {summarize_block(block)}" if block else ""
    if check.get("ok") and (block is None or block["verdict"]["passed"]):
        return f"✅ {who}: every number and date matches the case facts.{attempts}"
    # A draft's verdict names everything (also a cut-off draft); an edit has only its check.
    problems = list(block["verdict"]["reasons"]) if block else [*check.get("mismatches", [])]
    if block is None and check.get("missing_sections"):
        problems.append("missing sections: " + ", ".join(check["missing_sections"]))
    if block is None and not check.get("dates_in_order", True):
        problems.append("dates are not in time order")
    flagged = "\n".join(f"- {p}" for p in problems)
    return f"⚠️ {who}: the check flagged\n{flagged}{attempts}"


def _case_id(case_id: int | None) -> int:
    if case_id is None:
        raise gr.Error("Pick or open a case first.")
    return int(case_id)
