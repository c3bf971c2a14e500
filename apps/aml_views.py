"""What the AML screen shows, as plain text and tables: alerts that can be told apart (patterns,
hits, money, period, how often raised), cases, the audit trail with friendly times, a draft's
progress and a narrative's check."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.apps.calls import friendly_time
from twincore.platform.router.escalation import summarize_block

ALERT_COLUMNS = [
    "rank",
    "account",
    "patterns",
    "hits",
    "amount",
    "period",
    "risk",
    "raised",
    "case",
]
TXN_COLUMNS = ["time", "from", "to", "amount", "currency", "format", "label"]
EVENT_COLUMNS = ["at", "actor", "what", "from", "to", "detail"]
CASE_COLUMNS = ["case", "account", "status", "assignee", "patterns", "opened", "updated"]


def ingested(row: dict[str, Any]) -> str:
    return (
        f"Stored **{row['name']}**: {row['accounts']:,} accounts, "
        f"{row['transactions']:,} transactions ({row['source_format']}, "
        f"labels: {row['label_level'] or 'none'})."
    )


def run_summary(result: dict[str, Any]) -> str:
    stats = result["stats"]
    hits = stats.get("pattern_hits", {})
    scorer = f"model {result['model_version']}" if result["model_version"] else "rule score"
    again = stats.get("seen_before", 0)
    repeat = f"{stats.get('new', result['alerts'])} new, {again} raised by earlier runs"
    return (
        f"Run {result['id']}: {result['alerts']} alerts ({repeat}; {scorer}) · "
        f"{stats.get('flagged', '?'):,} of {stats.get('accounts', 0):,} accounts over the "
        "threshold"
        + (f" · pattern hits: {', '.join(f'{k} {v}' for k, v in hits.items())}" if hits else "")
    )


def money(amount: float | None, currency: str | None) -> str:
    return "—" if amount is None else f"{amount:,.2f} {currency or ''}".strip()


def period(first: str | None, last: str | None) -> str:
    """The dates a pattern's payments span: "17 Feb to 20 May 2020"."""
    if not first or not last:
        return "—"
    a, b = datetime.fromisoformat(first), datetime.fromisoformat(last)
    end = f"{b.day} {b.strftime('%b %Y')}"
    if a.date() == b.date():
        return end
    start = f"{a.day} {a.strftime('%b')}" + ("" if a.year == b.year else f" {a.year}")
    return f"{start} to {end}"


def alert_choice(alert: dict[str, Any]) -> str:
    return (
        f"#{alert['rank']} {alert['account']} · {', '.join(alert['patterns']) or 'risk'} · "
        f"{money(alert['amount'], alert['currency'])}"
    )


def alert_table(alerts: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per alert; the risk with 4 decimals (rule scores crowd just under 1, so the
    patterns, hits and money are what tell alerts apart)."""
    rows = [
        [
            a["rank"],
            a["account"],
            ", ".join(a["patterns"]) or "—",
            a["hits"] if a["hits"] is not None else "—",
            money(a["amount"], a["currency"]),
            period(a["first_at"], a["last_at"]),
            f"{a['score']:.4f}",
            "new" if a["runs_seen"] <= 1 else f"{a['runs_seen']} runs",
            a["case_id"] or "",
        ]
        for a in alerts
    ]
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


def alert_text(alert: dict[str, Any]) -> str:
    reasons = "\n".join(f"- {r}" for r in alert["reasons"]) or "- (no reasons recorded)"
    patterns = ", ".join(alert["patterns"]) or "risk score only"
    seen = (
        "first raised by this run"
        if alert["runs_seen"] <= 1
        else f"raised by {alert['runs_seen']} runs since run {alert['first_run_id']}"
    )
    case = f"\n\nCase {alert['case_id']} is open for this account." if alert["case_id"] else ""
    return (
        f"**Alert #{alert['rank']}: {alert['account']}** · risk {alert['score']:.4f} · {seen}\n\n"
        f"Patterns: {patterns} · {alert['hits'] or 0} hits moving "
        f"{money(alert['amount'], alert['currency'])} "
        f"({period(alert['first_at'], alert['last_at'])})\n\n{reasons}{case}"
    )


def transactions_table(subgraph: dict[str, Any]) -> pd.DataFrame:
    rows = [
        [
            friendly_time(datetime.fromtimestamp(t["ts"], UTC)),
            t["from"],
            t["to"],
            f"{t['amount']:,.2f}",
            t["currency"],
            t["format"],
            {1: "laundering", 0: "clean"}.get(t["label"], "—"),
        ]
        for t in subgraph["transactions"]
    ]
    return pd.DataFrame(rows, columns=TXN_COLUMNS)


def case_picker(cases: list[dict[str, Any]], selected: int | None) -> Any:
    choices = [
        (
            f"case {c['id']} · {c['account']} · {c['status']} · {c['assignee'] or 'unassigned'}",
            c["id"],
        )
        for c in cases
    ]
    return gr.update(choices=choices, value=selected)


def cases_table(cases: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        [
            c["id"],
            c["account"],
            c["status"],
            c["assignee"] or "—",
            ", ".join(c["patterns"]),
            friendly_time(c["created_at"]),
            friendly_time(c["updated_at"]),
        ]
        for c in cases
    ]
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def case_header(case: dict[str, Any]) -> str:
    return (
        f"**Case {case['id']}** · status **{case['status']}** · account {case['account']} · "
        f"assignee {case['assignee'] or '—'} · alert {case['alert_id']} · "
        f"opened {friendly_time(case['created_at'])}"
        + (f" · closed: {case['close_reason']}" if case["close_reason"] else "")
    )


def events_table(events: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        [
            friendly_time(e["at"]),
            e["actor"],
            e["kind"],
            e["from_status"] or "",
            e["to_status"] or "",
            e["detail"] or "",
        ]
        for e in events
    ]
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def check_report(entry: dict[str, Any]) -> str:
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


@dataclass
class DraftProgress:
    """A streamed SAR draft as it goes: which core, which attempt, tokens against the limit,
    and the time left at the current pace (an upper bound: a draft may end sooner)."""

    started: float
    model: str = ""
    max_tokens: int = 0
    attempt: int = 0
    step: str = ""
    core: str = ""
    tokens: int = 0
    text: str = ""
    attempt_started: float = 0.0
    verdicts: list[str] = field(default_factory=list)

    def see(self, event: dict[str, Any]) -> bool:
        """Take one event; True when the screen should show something new."""
        kind = str(event["event"])
        if kind == "start":
            self.model, self.max_tokens = event["model"], int(event["max_tokens"])
        elif kind == "attempt_start":
            self.attempt += 1
            self.step, self.tokens, self.text = event["step"], 0, ""
            self.core = _core_label(event["model"])
            self.attempt_started = time.monotonic()
        elif kind == "token":
            self.tokens += 1
            self.text += event["text"]
        elif kind == "attempt":
            self.core = event["core"]
            verdict = "passed the check" if event["passed"] else "failed the check"
            self.verdicts.append(f"attempt {self.attempt} ({event['core']}): {verdict}")
        return kind != "result"

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        if not self.attempt:
            return (
                f"⏳ Starting the draft with **{_core_label(self.model or '…')}** · {elapsed:.0f} s"
            )
        spent = max(time.monotonic() - self.attempt_started, 1e-3)
        pace = self.tokens / spent
        left = (
            f" · at most ~{(self.max_tokens - self.tokens) / pace:.0f} s left"
            if pace > 0 and self.tokens
            else ""
        )
        done = "; ".join(self.verdicts)
        return (
            f"**{self.core}** is writing · attempt {self.attempt} ({self.step}) · "
            f"{self.tokens} of at most {self.max_tokens} tokens · {elapsed:.0f} s{left}"
            + (f"\n\n{done}" if done else "")
        )

    def done_line(self) -> str:
        elapsed = time.monotonic() - self.started
        done = "; ".join(self.verdicts) or "no attempt finished"
        return f"**Draft stored** after {elapsed:.0f} s · {done}"


def _core_label(model: str) -> str:
    return "the router's choice (auto)" if model == "auto" else f"the {model} core"
