"""The picture of an alert (plotly): the alerted account's k-hop ego network, capped at a
readable size with the strongest flows kept, drawn as rings around the alerted account.

Payments between two accounts are summed into one flow (an arrow labelled with the amount and
dates; hover shows each count and total). Payers of the alerted account sit on the left of the
first ring, payees on the right; the second ring holds their counterparties.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from twincore.apps.graph_drawing import Point, add_arrow, edge_label, frame

MAX_NODES = 40
HOPS = 2
NODE_GAP, SUBJECT_GAP = 8, 16
"""Pixels an arrow stops short of a node's centre (the subject's star is larger)."""
LABELLED_FLOWS = 24
"""Flows with a visible label (the largest); every flow has its hover."""

SUBJECT, LAUNDERING, OTHER = "#d62728", "#ff7f0e", "#1f77b4"
PAYMENT, LAUNDERING_PAYMENT = "#9a9a9a", "#ff7f0e"


@dataclass
class Flow:
    """Every payment from one account to another in the alert's subgraph, summed."""

    src: int
    dst: int
    amount: float = 0.0
    count: int = 0
    first_ts: int = 0
    last_ts: int = 0
    currency: str = ""
    laundering: bool = False

    def add(self, txn: dict[str, Any]) -> None:
        ts = int(txn["ts"])
        self.first_ts = ts if not self.count else min(self.first_ts, ts)
        self.last_ts = max(self.last_ts, ts)
        self.amount += float(txn["amount"])
        self.count += 1
        self.currency = self.currency or str(txn["currency"])
        self.laundering |= txn.get("label") == 1

    def label(self) -> str:
        times = f"{self.count} x " if self.count > 1 else ""
        return f"{times}{_short_amount(self.amount)} · {_days(self.first_ts, self.last_ts)}"

    def hover(self, names: dict[int, str]) -> str:
        return (
            f"{names[self.src]} → {names[self.dst]}<br>{self.count} payment(s), "
            f"{self.amount:,.2f} {self.currency}<br>{_day(self.first_ts)}"
            + (f" to {_day(self.last_ts)}" if self.last_ts != self.first_ts else "")
        )


def flows_of(transactions: list[dict[str, Any]]) -> dict[tuple[int, int], Flow]:
    flows: dict[tuple[int, int], Flow] = {}
    for txn in transactions:
        pair = (int(txn["src"]), int(txn["dst"]))
        flows.setdefault(pair, Flow(*pair)).add(txn)
    return flows


def ego_network(
    subject: int,
    flows: dict[tuple[int, int], Flow],
    *,
    hops: int = HOPS,
    max_nodes: int = MAX_NODES,
) -> dict[int, int]:
    """The accounts within `hops` of `subject` (account -> hop), at most `max_nodes`: grown
    from the subject along the largest flows first, so what is kept is connected and is where
    the money went."""
    neighbours: dict[int, dict[int, float]] = {}
    for (src, dst), flow in flows.items():
        for a, b in ((src, dst), (dst, src)):
            weights = neighbours.setdefault(a, {})
            weights[b] = weights.get(b, 0.0) + flow.amount
    hop_of: dict[int, int] = {}
    frontier: list[tuple[int, float, int]] = [(0, -math.inf, subject)]
    while frontier and len(hop_of) < max_nodes:
        # Nearer rings first, then the largest flow into the kept set.
        hop, _, account = heapq.heappop(frontier)
        if account in hop_of:
            continue
        hop_of[account] = hop
        if hop < hops:
            for other, weight in neighbours.get(account, {}).items():
                if other not in hop_of:
                    heapq.heappush(frontier, (hop + 1, -weight, other))
    return hop_of


def ring_positions(
    subject: int, hop_of: dict[int, int], flows: dict[tuple[int, int], Flow]
) -> dict[int, Point]:
    """The subject at the centre, ring k at radius k. On ring 1 the subject's payers come
    first (left), then accounts that both pay and are paid (bottom), then payees (right);
    ring 2 follows its members' ring-1 counterparties round the circle."""
    positions: dict[int, Point] = {subject: (0.0, 0.0)}
    ring1 = [a for a, hop in hop_of.items() if hop == 1]

    def side(account: int) -> int:
        pays, paid = (account, subject) in flows, (subject, account) in flows
        return 0 if pays and not paid else 2 if paid and not pays else 1

    ring1.sort(key=lambda a: (side(a), a))
    angle_of = _place(ring1, 1.0, positions, start=100.0)
    outer = [a for a, hop in hop_of.items() if hop >= 2]

    def parent_angle(account: int) -> float:
        linked = [angle_of[b] for b in angle_of if (account, b) in flows or (b, account) in flows]
        return min(linked) if linked else 0.0

    wanted = {account: parent_angle(account) for account in outer}
    for account, angle in _spread(wanted, min_gap=min(360.0 / max(len(outer), 1), 12.0)).items():
        rad = math.radians(angle)
        positions[account] = (2.0 * math.cos(rad), 2.0 * math.sin(rad))
    return positions


def _place(
    accounts: list[int], radius: float, positions: dict[int, Point], *, start: float
) -> dict[int, float]:
    """Evenly round a circle from `start` degrees, counter-clockwise over 340 degrees."""
    angles: dict[int, float] = {}
    step = 340.0 / max(len(accounts) - 1, 1) if len(accounts) > 1 else 0.0
    for i, account in enumerate(accounts):
        angle = start + i * step
        angles[account] = angle
        rad = math.radians(angle)
        positions[account] = (radius * math.cos(rad), radius * math.sin(rad))
    return angles


def _spread(wanted: dict[int, float], *, min_gap: float) -> dict[int, float]:
    """Angles as near the wanted ones as keeps neighbours `min_gap` degrees apart: pushed
    apart in order, then the whole run turned back so it stays centred on what was wanted."""
    order = sorted(wanted, key=lambda a: (wanted[a], a))
    placed: dict[int, float] = {}
    previous = -math.inf
    for account in order:
        placed[account] = max(wanted[account], previous + min_gap)
        previous = placed[account]
    if placed:
        shift = sum(placed[a] - wanted[a] for a in order) / len(order)
        placed = {a: angle - shift for a, angle in placed.items()}
    return placed


def subgraph_figure(subgraph: dict[str, Any], title: str) -> go.Figure:
    """The ego network of the subgraph's subject account (see the module docstring)."""
    accounts = {int(a["key"]): a for a in subgraph["accounts"]}
    subject = next(key for key, a in accounts.items() if a["subject"])
    flows = flows_of(subgraph["transactions"])
    hop_of = ego_network(subject, flows)
    kept = {pair: f for pair, f in flows.items() if pair[0] in hop_of and pair[1] in hop_of}
    positions = ring_positions(subject, hop_of, kept)
    names = {key: accounts[key]["name"] for key in hop_of}
    short = _short_names(names)

    figure = go.Figure()
    largest = sorted(kept, key=lambda pair: -kept[pair].amount)[:LABELLED_FLOWS]
    biggest = max((f.amount for f in kept.values()), default=1.0) or 1.0
    for pair, flow in kept.items():
        start, end = _offset(positions[pair[0]], positions[pair[1]], (pair[1], pair[0]) in kept)
        colour = LAUNDERING_PAYMENT if flow.laundering else PAYMENT
        width = 1.0 + 2.5 * flow.amount / biggest
        add_arrow(
            figure,
            start,
            end,
            colour=colour,
            standoff=SUBJECT_GAP if pair[1] == subject else NODE_GAP,
            start_standoff=SUBJECT_GAP if pair[0] == subject else NODE_GAP,
            size=0.9,
            width=width,
        )
        if pair in largest:
            # On a spoke, nearer the outer account: the centre is where spokes crowd.
            outer = pair[0] == subject or hop_of[pair[0]] < hop_of[pair[1]]
            edge_label(figure, start, end, flow.label(), at=0.62 if outer else 0.38)
    middles = [_middle(positions[a], positions[b]) for a, b in kept]
    figure.add_trace(
        go.Scatter(
            x=[x for x, _ in middles],
            y=[y for _, y in middles],
            mode="markers",
            marker={"size": 10, "color": "rgba(0,0,0,0)"},
            hovertext=[flow.hover(names) for flow in kept.values()],
            hoverinfo="text",
            showlegend=False,
        )
    )
    _legend_lines(figure)
    labelled = {a for a in hop_of if a != subject and accounts[a].get("label") == 1}
    others = [a for a in hop_of if a != subject and a not in labelled]
    for name, colour, keys in (
        ("laundering-labelled account", LAUNDERING, sorted(labelled)),
        ("other account", OTHER, others),
    ):
        _node_trace(figure, name, keys, positions, short, kept, names, colour=colour, size=12)
    _node_trace(
        figure, "alerted account", [subject], positions, short, kept, names, colour=SUBJECT, size=26
    )
    _node_labels(figure, positions, short, subject)
    shown = f"{len(hop_of)} of {len(accounts)} accounts within {HOPS} hops, largest flows kept"
    frame(figure, f"{title}<br><sup>{shown}</sup>", height=640, legend=True, square=True)
    return figure


def _node_trace(
    figure: go.Figure,
    name: str,
    keys: list[int],
    positions: dict[int, Point],
    short: dict[int, str],
    flows: dict[tuple[int, int], Flow],
    names: dict[int, str],
    *,
    colour: str,
    size: int,
) -> None:
    subject = size > 20
    figure.add_trace(
        go.Scatter(
            x=[positions[a][0] for a in keys],
            y=[positions[a][1] for a in keys],
            mode="markers",
            name=name,
            meta="account",
            customdata=[names[a] for a in keys],
            hovertext=[_account_hover(a, names, flows) for a in keys],
            hoverinfo="text",
            marker={
                "size": size,
                "color": colour,
                "symbol": "star" if subject else "circle",
                "line": {"width": 2 if subject else 1, "color": "#222"},
            },
        )
    )


def _legend_lines(figure: go.Figure) -> None:
    """Legend entries for the arrows (drawn as annotations, which a legend does not list)."""
    for name, colour in (("payment (arrow: money's direction)", PAYMENT),
                         ("laundering-labelled payment", LAUNDERING_PAYMENT)):  # fmt: skip
        figure.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="lines", name=name, line={"color": colour, "width": 2}
            )
        )


def _node_labels(
    figure: go.Figure, positions: dict[int, Point], short: dict[int, str], subject: int
) -> None:
    """Each account's name beside it, outward from the centre, on white: drawn over the
    arrows, so a name is never lost under the lines that meet at its account."""
    for account, (x, y) in positions.items():
        if account == subject:
            options: dict[str, Any] = {"yshift": -24, "text": f"<b>{short[account]}</b>"}
        elif abs(x) >= abs(y) * 0.6:
            right = x > 0
            options = {"xanchor": "left" if right else "right", "xshift": 8 if right else -8}
        else:
            up = y > 0
            options = {"yanchor": "bottom" if up else "top", "yshift": 8 if up else -8}
        figure.add_annotation(
            **{"x": x, "y": y, "text": short[account], "showarrow": False, **options},
            font={"size": 12 if account == subject else 10, "color": "#222"},
            bgcolor="rgba(255,255,255,0.85)",
            borderpad=1,
        )


def _offset(start: Point, end: Point, both_ways: bool) -> tuple[Point, Point]:
    """Two flows between the same accounts (each way) are drawn side by side."""
    if not both_ways:
        return start, end
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    dx, dy = -(y1 - y0) / length * 0.04, (x1 - x0) / length * 0.04
    return (x0 + dx, y0 + dy), (x1 + dx, y1 + dy)


def _middle(a: Point, b: Point) -> Point:
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def _short_names(names: dict[int, str]) -> dict[int, str]:
    """Account ids without their bank when every account is at the same bank."""
    banks = {name.split("/", 1)[0] for name in names.values() if "/" in name}
    if len(banks) == 1 and all("/" in name for name in names.values()):
        return {key: name.split("/", 1)[1] for key, name in names.items()}
    return dict(names)


def _account_hover(account: int, names: dict[int, str], flows: dict[tuple[int, int], Flow]) -> str:
    sent = [f for f in flows.values() if f.src == account]
    received = [f for f in flows.values() if f.dst == account]
    return (
        f"{names[account]}<br>sent {sum(f.count for f in sent)}: "
        f"{math.fsum(f.amount for f in sent):,.2f}<br>received "
        f"{sum(f.count for f in received)}: {math.fsum(f.amount for f in received):,.2f}"
    )


def _short_amount(amount: float) -> str:
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(amount) >= limit:
            return f"{amount / limit:.1f}{suffix}"
    return f"{amount:,.0f}"


def _day(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment.day} {moment.strftime('%b %Y')}"


def _days(first: int, last: int) -> str:
    a, b = datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)
    if a.date() == b.date():
        return f"{a.day} {a.strftime('%b')}"
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}-{b.day} {a.strftime('%b')}"
    return f"{a.day} {a.strftime('%b')}-{b.day} {b.strftime('%b')}"
