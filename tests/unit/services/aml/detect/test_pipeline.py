"""detect(): risk per account, ranked alerts with reasons and a bounded subgraph, the budget."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from twincore.services.aml.detect.alerts import MAX_SUBGRAPH_TRANSACTIONS
from twincore.services.aml.detect.classifier import TrainConfig
from twincore.services.aml.detect.detectors import PATTERNS
from twincore.services.aml.detect.pipeline import RULE_THRESHOLD, detect
from twincore.services.aml.detect.training import train_on_datasets

PLANTED = ("gather_scatter", "scatter_gather", "simple_cycle", "structuring", "bipartite")


def _planted(synth: SimpleNamespace) -> tuple[SimpleNamespace, dict[str, list[int]]]:
    payments = synth.background()
    cores = {pattern: synth.plant(pattern, payments) for pattern in PLANTED}
    return synth.dataset(payments), cores


def test_rule_scored_alerts_are_ranked_explained_and_bounded(synth: SimpleNamespace) -> None:
    data, cores = _planted(synth)
    detection = detect(data, budget=50)

    assert detection.scorer == "rules"
    assert detection.threshold == RULE_THRESHOLD
    scores = [alert.score for alert in detection.alerts]
    assert scores == sorted(scores, reverse=True)
    assert all(score >= RULE_THRESHOLD for score in scores)
    alerted = {alert.subject_account for alert in detection.alerts}
    for pattern, core in cores.items():
        assert core[0] in alerted, f"{pattern} core account not alerted"
    # Rule scores come from hits only: every alerted account is in one; hits also hold the
    # hub's habitual payments in the window, so a few clean counterparties ride along.
    in_hits = {a for hit in detection.hits for a in hit.accounts}
    assert alerted <= in_hits
    laundering = data.accounts["label"].to_numpy() == 1
    assert np.mean([laundering[a] for a in alerted]) >= 0.6
    cycle_alert = next(a for a in detection.alerts if a.subject_account == cores["simple_cycle"][0])
    assert "simple_cycle" in cycle_alert.patterns
    assert any(reason.startswith("simple_cycle") for reason in cycle_alert.reasons)
    assert cycle_alert.accounts[0] == cycle_alert.subject_account
    assert 0 < len(cycle_alert.transactions) <= MAX_SUBGRAPH_TRANSACTIONS
    # The pattern's own payments come first in the subgraph.
    planted = set(np.flatnonzero(data.transactions["label"].to_numpy() == 1))
    assert set(cycle_alert.transactions[:4]) <= planted
    json.dumps(detection.as_dict())  # JSON-ready


def test_budget_cuts_the_alert_list(synth: SimpleNamespace) -> None:
    data, _ = _planted(synth)
    full = detect(data, budget=100)
    cut = detect(data, budget=2)
    assert len(cut.alerts) == 2 < len(full.alerts)
    assert [a.subject_account for a in cut.alerts] == [a.subject_account for a in full.alerts[:2]]
    assert detect(data, budget=0).alerts == []


def test_clean_traffic_raises_no_alert(synth: SimpleNamespace) -> None:
    detection = detect(synth.dataset(synth.background()))
    assert detection.alerts == [] and detection.hits == []
    assert float(detection.risk.max()) == 0.0


def test_model_scored_alerts_name_their_features(synth: SimpleNamespace) -> None:
    payments = synth.background()
    for pattern in PATTERNS:
        synth.plant(pattern, payments)
    train = synth.dataset(payments)
    model = train_on_datasets(
        [train], train_config=TrainConfig(rounds=30, learning_rate=0.1, folds=2, min_data_in_leaf=3)
    )
    assert model.level == "transaction"
    detection = detect(train, model, budget=5)
    assert detection.scorer == "model" and detection.transaction_risk is not None
    assert detection.alerts, "the model flags nothing on its own training data"
    top = detection.alerts[0]
    assert any("log-odds" in reason for reason in top.reasons)
    assert top.top_features
    assert top.score == float(detection.risk.max()).__round__(6)
