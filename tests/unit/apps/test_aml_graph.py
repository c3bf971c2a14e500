"""The alert picture: the alerted account's 2-hop ego network, at most 40 accounts, the largest
flows kept, the alerted account its own highlighted trace, and labels inside the plot."""

from __future__ import annotations

from typing import Any

from twincore.apps.aml_graph import MAX_NODES, ego_network, flows_of, subgraph_figure

T0 = 1_581_897_600  # 2020-02-17 00:00 UTC


def _txn(src: int, dst: int, amount: float, day: int = 0) -> dict[str, Any]:
    return {
        "txn": src * 1000 + dst,
        "ts": T0 + day * 86_400,
        "src": src,
        "dst": dst,
        "amount": amount,
        "currency": "USD",
        "format": "wire",
        "label": None,
    }


def _star() -> dict[str, Any]:
    """Account 0 paid by 1..60 (account k pays 10*k), and 1..60 each paid by 100+k (k)."""
    txns = [_txn(k, 0, 10.0 * k, day=k % 5) for k in range(1, 61)]
    txns += [_txn(100 + k, k, float(k)) for k in range(1, 61)]
    keys = sorted({t["src"] for t in txns} | {0})
    accounts = [{"key": k, "name": f"b/{k}", "subject": k == 0, "label": 0} for k in keys]
    return {"accounts": accounts, "transactions": txns}


def test_the_ego_network_keeps_the_largest_flows_nearest_first() -> None:
    hop_of = ego_network(0, flows_of(_star()["transactions"]), hops=2, max_nodes=MAX_NODES)
    assert len(hop_of) == MAX_NODES and hop_of[0] == 0
    # 60 direct payers compete for 39 places: the 39 largest payers (22..60) win them.
    assert {a for a, hop in hop_of.items() if hop == 1} == set(range(22, 61))
    assert ego_network(0, flows_of([]), max_nodes=5) == {0: 0}


def test_the_picture_draws_at_most_40_accounts_with_the_subject_highlighted() -> None:
    figure = subgraph_figure(_star(), "Alert #1: b/0")
    accounts = [t for t in figure.data if t.meta == "account"]
    assert sum(len(t.x) for t in accounts) <= MAX_NODES
    subject = next(t for t in accounts if t.name == "alerted account")
    assert list(subject.customdata) == ["b/0"] and subject.marker.symbol == "star"
    assert figure.layout.showlegend
    # Every label sits inside the padded axis range (none cut at the plot's edge).
    xs = [x for t in accounts for x in t.x]
    low, high = figure.layout.xaxis.range
    assert low < min(xs) and max(xs) < high
    # The largest flow (60 -> 0: 600 on day 0) carries its amount and date.
    assert "600 · 17 Feb" in {a.text for a in figure.layout.annotations}
