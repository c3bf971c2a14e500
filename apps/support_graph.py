"""The picture of the subgraph behind a support answer (plotly): cited nodes large and red,
their neighbours coloured by label, each relationship an arrow named by its type."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from twincore.apps.graph_drawing import add_arrow, frame, spring_positions

CITED = "#d62728"
LABEL_COLOURS = {
    "Customer": "#1f77b4",
    "Order": "#ff7f0e",
    "Product": "#2ca02c",
    "Supplier": "#9467bd",
    "Shipper": "#8c564b",
    "Employee": "#e377c2",
    "Category": "#17becf",
    "Issue": "#bcbd22",
    "Solution": "#7f7f7f",
}


def subgraph_figure(subgraph: dict[str, Any], title: str = "Subgraph used") -> go.Figure:
    """Seeded layout, so the same answer always draws the same way."""
    positions = spring_positions(
        (node["id"] for node in subgraph["nodes"]),
        ((edge["src"], edge["dst"]) for edge in subgraph["edges"]),
    )
    figure = go.Figure()
    middles = [
        add_arrow(figure, positions[edge["src"]], positions[edge["dst"]], colour="#999", standoff=9)
        for edge in subgraph["edges"]
    ]
    figure.add_trace(
        go.Scatter(
            x=[x for x, _ in middles],
            y=[y for _, y in middles],
            mode="text",
            text=[edge["type"] for edge in subgraph["edges"]],
            textfont={"size": 9, "color": "#666"},
            hoverinfo="skip",
        )
    )
    nodes = subgraph["nodes"]
    figure.add_trace(
        go.Scatter(
            x=[positions[n["id"]][0] for n in nodes],
            y=[positions[n["id"]][1] for n in nodes],
            mode="markers+text",
            text=[n["name"] for n in nodes],
            textposition="top center",
            hovertext=[f"{n['label']} {n['key']}<br>{n['name']}" for n in nodes],
            hoverinfo="text",
            marker={
                "size": [20 if n["cited"] else 11 for n in nodes],
                "color": [
                    CITED if n["cited"] else LABEL_COLOURS.get(n["label"], "#333") for n in nodes
                ],
                "line": {"width": 1, "color": "#333"},
            },
        )
    )
    frame(figure, title, height=460)
    return figure
