"""The picture of the subgraph behind a support answer (plotly): cited nodes large and red,
their neighbours coloured by label, each relationship an arrow named by its type, every name
inside the picture."""

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
# Room around the outermost nodes, as a share of the layout's width / height: a name is drawn
# centred over its node, so half of a long name ("Vins et alcools Chevalier") lies beyond it.
SIDE_ROOM = 0.3
TOP_ROOM = 0.15


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
            cliponaxis=False,
            showlegend=False,
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
            cliponaxis=False,
            showlegend=False,
        )
    )
    _add_legend(figure, nodes)
    frame(figure, title, height=480)
    figure.update_layout(
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": -0.02, "yanchor": "top", "font": {"size": 11}},
        margin={"l": 20, "r": 20, "t": 50, "b": 50},
    )
    if positions:
        figure.update_layout(
            xaxis={"range": _padded([x for x, _ in positions.values()], SIDE_ROOM)},
            yaxis={"range": _padded([y for _, y in positions.values()], TOP_ROOM)},
        )
    return figure


def _add_legend(figure: go.Figure, nodes: list[dict[str, Any]]) -> None:
    """One legend entry per colour in the picture: cited first, then each neighbour label."""
    entries = [("cited", CITED)] if any(n["cited"] for n in nodes) else []
    labels = dict.fromkeys(n["label"] for n in nodes if not n["cited"])
    entries += [(label, LABEL_COLOURS.get(label, "#333")) for label in labels]
    for name, colour in entries:
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=name,
                marker={"size": 10, "color": colour, "line": {"width": 1, "color": "#333"}},
                hoverinfo="skip",
            )
        )


def _padded(values: list[float], room: float) -> list[float]:
    """The axis range holding `values` with `room` (a share of their spread) on each side."""
    low, high = min(values), max(values)
    spread = (high - low) or 1.0  # one node: any width centres it
    return [low - room * spread, high + room * spread]
