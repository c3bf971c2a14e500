"""Drawing pieces shared by the apps' network pictures (plotly): a seeded layout, arrows
between laid-out nodes, and the bare white frame."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

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
    figure: go.Figure, start: Point, end: Point, *, colour: str, standoff: int, size: float = 1.0
) -> Point:
    """An arrow from `start` to `end` in data coordinates; returns its midpoint (for a label or
    a hover marker)."""
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
        arrowwidth=1,
        arrowcolor=colour,
        standoff=standoff,
        startstandoff=standoff,
    )
    return (x0 + x1) / 2, (y0 + y1) / 2


def frame(figure: go.Figure, title: str, height: int) -> None:
    """No axes, no legend, white background, small margins."""
    figure.update_layout(
        title=title,
        showlegend=False,
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
        plot_bgcolor="white",
    )
