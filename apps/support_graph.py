"""The picture of the subgraph behind a support answer (plotly): cited nodes large and red,
their neighbours coloured by label, each relationship an arrow named by its type."""

from __future__ import annotations

from typing import Any

import networkx as nx  # type: ignore[import-untyped]
import plotly.graph_objects as go  # type: ignore[import-untyped]

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
    """Spring layout, seeded, so the same answer always draws the same way."""
    graph = nx.DiGraph()
    for node in subgraph["nodes"]:
        graph.add_node(node["id"])
    for edge in subgraph["edges"]:
        graph.add_edge(edge["src"], edge["dst"])
    positions = nx.spring_layout(graph.to_undirected(), seed=7) if graph.number_of_nodes() else {}
    figure = go.Figure()
    mid_x: list[float] = []
    mid_y: list[float] = []
    mid_text: list[str] = []
    for edge in subgraph["edges"]:
        (x0, y0), (x1, y1) = positions[edge["src"]], positions[edge["dst"]]
        figure.add_annotation(
            x=x1,
            y=y1,
            ax=x0,
            ay=y0,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowwidth=1,
            arrowcolor="#999",
            standoff=9,
            startstandoff=9,
        )
        mid_x.append((x0 + x1) / 2)
        mid_y.append((y0 + y1) / 2)
        mid_text.append(edge["type"])
    figure.add_trace(
        go.Scatter(
            x=mid_x,
            y=mid_y,
            mode="text",
            text=mid_text,
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
    figure.update_layout(
        title=title,
        showlegend=False,
        height=460,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
        plot_bgcolor="white",
    )
    return figure
