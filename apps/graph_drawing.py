"""Drawing pieces shared by the apps' network pictures (plotly): a seeded layout, arrows
between laid-out nodes, labels along edges, and the bare white frame sized to its labels."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

import networkx as nx  # type: ignore[import-untyped]
import plotly.graph_objects as go  # type: ignore[import-untyped]

Point = tuple[float, float]


def spring_positions(
    nodes: Iterable[Hashable], edges: Iterable[tuple[Hashable, Hashable]]
) -> dict[Hashable, Point]:
    """Spring layout of the undirected graph, seeded, so the same data always draws the same way."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    if not graph.number_of_nodes():
        return {}
    return {key: (float(x), float(y)) for key, (x, y) in nx.spring_layout(graph, seed=7).items()}


def add_arrow(
    figure: go.Figure,
    start: Point,
    end: Point,
    *,
    colour: str,
    standoff: int,
    size: float = 1.0,
    width: float = 1.0,
    start_standoff: int | None = None,
) -> Point:
    """An arrow from `start` to `end` in data coordinates, `standoff` pixels short of each end
    (`start_standoff` for the start, when its node is larger); returns its midpoint (for a
    label or a hover marker)."""
    (x0, y0), (x1, y1) = start, end
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
        arrowsize=size,
        arrowwidth=width,
        arrowcolor=colour,
        standoff=standoff,
        startstandoff=standoff if start_standoff is None else start_standoff,
    )
    return (x0 + x1) / 2, (y0 + y1) / 2


def edge_label(
    figure: go.Figure, start: Point, end: Point, text: str, *, at: float = 0.5, size: int = 9
) -> None:
    """`text` along the edge from `start` to `end`, `at` of the way, turned to the edge's
    direction (never upside down), so neighbouring edges' labels lie side by side instead of
    on top of each other. Needs equal axis scales (`frame(..., square=True)`)."""
    (x0, y0), (x1, y1) = start, end
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    if angle > 90:
        angle -= 180
    elif angle < -90:
        angle += 180
    figure.add_annotation(
        x=x0 + (x1 - x0) * at,
        y=y0 + (y1 - y0) * at,
        xref="x",
        yref="y",
        text=text,
        showarrow=False,
        textangle=-angle,  # plotly turns text clockwise
        font={"size": size, "color": "#555"},
        bgcolor="rgba(255,255,255,0.8)",
    )


def frame(
    figure: go.Figure, title: str, height: int, *, legend: bool = False, square: bool = False
) -> None:
    """No axes, white background, small margins; the axis ranges padded around every point so
    labels beside the outermost nodes are not cut at the plot's edge. `legend` shows the
    traces' legend above the plot; `square` keeps one unit as long across as up (round rings,
    edge labels along their edges)."""
    xs, ys = _points(figure)
    axis: dict[str, Any] = {"visible": False}
    xaxis, yaxis = dict(axis), dict(axis)
    if xs and ys:
        # Labels run sideways: more room left and right than above and below.
        span_x, span_y = max(max(xs) - min(xs), 1e-6), max(max(ys) - min(ys), 1e-6)
        xaxis["range"] = [min(xs) - 0.22 * span_x, max(xs) + 0.22 * span_x]
        yaxis["range"] = [min(ys) - 0.1 * span_y, max(ys) + 0.1 * span_y]
    if square:
        yaxis.update(scaleanchor="x", scaleratio=1)
    figure.update_traces(cliponaxis=False, selector={"type": "scatter"})
    figure.update_layout(
        title=title,
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        height=height,
        margin={"l": 10, "r": 10, "t": 90 if legend else 40, "b": 10},
        xaxis=xaxis,
        yaxis=yaxis,
        plot_bgcolor="white",
    )


def _points(figure: go.Figure) -> tuple[list[float], list[float]]:
    xs: list[float] = []
    ys: list[float] = []
    for trace in figure.data:
        if trace.type == "scatter" and trace.x is not None and trace.y is not None:
            xs += [float(x) for x in trace.x if x is not None]
            ys += [float(y) for y in trace.y if y is not None]
    return xs, ys
