"""The interactive picture of an alert's transaction subgraph (plotly): accounts as nodes, each
transaction an arrow whose hover shows its amount and time; the subject account in red."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from twincore.apps.graph_drawing import add_arrow, frame, spring_positions

SUBJECT, LAUNDERING, OTHER = "#d62728", "#ff7f0e", "#1f77b4"


def subgraph_figure(subgraph: dict[str, Any], title: str) -> go.Figure:
    """Nodes by spring layout (seeded, so the same alert always draws the same way)."""
    positions = spring_positions(
        (account["key"] for account in subgraph["accounts"]),
        ((txn["src"], txn["dst"]) for txn in subgraph["transactions"]),
    )

    figure = go.Figure()
    hover_x: list[float] = []
    hover_y: list[float] = []
    hover_text: list[str] = []
    for txn in subgraph["transactions"]:
        colour = LAUNDERING if txn.get("label") == 1 else "#888"
        start, end = positions[txn["src"]], positions[txn["dst"]]
        x, y = add_arrow(figure, start, end, colour=colour, standoff=8, size=1.2)
        hover_x.append(x)
        hover_y.append(y)
        hover_text.append(
            f"{txn['from']} → {txn['to']}<br>{txn['amount']:,.2f} {txn['currency']}"
            f"<br>{txn['time']} · {txn['format']}"
        )
    figure.add_trace(
        go.Scatter(
            x=hover_x,
            y=hover_y,
            mode="markers",
            name="transactions",
            marker={"size": 7, "color": "#888", "symbol": "diamond"},
            text=hover_text,
            hoverinfo="text",
        )
    )
    accounts = subgraph["accounts"]
    figure.add_trace(
        go.Scatter(
            x=[positions[a["key"]][0] for a in accounts],
            y=[positions[a["key"]][1] for a in accounts],
            mode="markers+text",
            name="accounts",
            text=[a["name"] for a in accounts],
            textposition="top center",
            hovertext=[_account_hover(a, subgraph) for a in accounts],
            hoverinfo="text",
            marker={
                "size": [18 if a["subject"] else 11 for a in accounts],
                "color": [_colour(a) for a in accounts],
                "line": {"width": 1, "color": "#333"},
            },
        )
    )
    frame(figure, title, height=520)
    return figure


def _colour(account: dict[str, Any]) -> str:
    if account["subject"]:
        return SUBJECT
    return LAUNDERING if account.get("label") == 1 else OTHER


def _account_hover(account: dict[str, Any], subgraph: dict[str, Any]) -> str:
    sent = [t for t in subgraph["transactions"] if t["src"] == account["key"]]
    received = [t for t in subgraph["transactions"] if t["dst"] == account["key"]]
    total_out = math.fsum(t["amount"] for t in sent)
    total_in = math.fsum(t["amount"] for t in received)
    role = "subject" if account["subject"] else "counterparty"
    return (
        f"{account['name']} ({role})<br>sent {len(sent)}: {total_out:,.2f}"
        f"<br>received {len(received)}: {total_in:,.2f}"
    )
