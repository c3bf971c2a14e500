"""Detection end to end: detectors, features, risk per account, ranked alerts under a budget.

`detect(dataset, model=None, budget=100)` runs every pattern detector, builds the account (and,
for a transaction-level model, transaction) features, scores each account and returns a
`Detection` with at most `budget` alerts ranked by score. With a model the risk is its calibrated
probability (transaction-level models: an account's risk is the highest risk of the transactions
it sends or receives); without one it is the *rule score*

    risk(account) = 1 - prod over the account's hits h of (1 - RULE_WEIGHTS[h.pattern] * h.score)

so one hit of a specific typology at its detector's minimum (score 0.5, weight 1.0) reaches the
rule threshold of 0.5, while the weak, common fan-in / fan-out need two or a stronger one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

from twincore.services.aml.detect.alerts import Alert, build_alerts
from twincore.services.aml.detect.arrays import unique_sorted
from twincore.services.aml.detect.classifier import RiskModel
from twincore.services.aml.detect.detectors import (
    PATTERNS,
    DetectorConfig,
    PatternHit,
    run_detectors,
)
from twincore.services.aml.detect.features import account_features
from twincore.services.aml.detect.txn_features import (
    TxnContext,
    transaction_context,
    transaction_features,
)
from twincore.services.aml.ingest.frames import Dataset

RULE_WEIGHTS: dict[str, float] = {
    "fan_out": 0.6,
    "fan_in": 0.6,
    "gather_scatter": 1.0,
    "scatter_gather": 1.0,
    "simple_cycle": 1.0,
    "random": 1.0,
    "bipartite": 1.0,
    "stack": 1.0,
    "structuring": 1.0,
}
RULE_THRESHOLD = 0.5


@dataclass
class FeatureSet:
    """Everything detection derives from a dataset before scoring."""

    context: TxnContext
    hits: list[PatternHit]
    accounts: pd.DataFrame  # [n_accounts, n_features] float32
    transactions: pd.DataFrame | None  # [n_transactions, n_features] float32, when asked for
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Detection:
    """The result of one detection over one dataset."""

    dataset: str
    scorer: str  # "model" or "rules"
    level: str  # where the risk was computed: "account" or "transaction"
    threshold: float  # risk at or above which an account counts as flagged
    features: pd.DataFrame  # per-account features, index = account key
    risk: np.ndarray  # [n_accounts] calibrated risk 0..1
    transaction_risk: np.ndarray | None  # [n_transactions] for transaction-level models
    hits: list[PatternHit]
    alerts: list[Alert]
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, *, max_hits: int = 1000) -> dict[str, Any]:
        """JSON-ready summary (no per-account arrays; the strongest `max_hits` hits)."""
        strongest = sorted(self.hits, key=lambda h: -h.score)[:max_hits]
        return {
            "dataset": self.dataset,
            "scorer": self.scorer,
            "level": self.level,
            "threshold": self.threshold,
            "flagged_accounts": int((self.risk >= self.threshold).sum()),
            "stats": self.stats,
            "hits": [h.as_dict() for h in strongest],
            "alerts": [a.as_dict() for a in self.alerts],
        }


def detector_config_for(model: RiskModel | None) -> DetectorConfig:
    """The detector settings a model was trained with (its features depend on them)."""
    if model is None or "detector" not in model.metadata:
        return DetectorConfig()
    return DetectorConfig(**model.metadata["detector"])


def build_features(
    dataset: Dataset, config: DetectorConfig, *, with_transactions: bool
) -> FeatureSet:
    """Run the detectors, then the account (and optionally transaction) features."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    context = transaction_context(dataset)
    seconds["context"] = time.perf_counter() - started
    started = time.perf_counter()
    hits = run_detectors(dataset, config, context=context)
    seconds["detectors"] = time.perf_counter() - started
    started = time.perf_counter()
    accounts = account_features(
        dataset,
        window_seconds=config.window_seconds,
        hits=hits,
        patterns=PATTERNS,
        context=context,
    )
    txn_frame = transaction_features(dataset, accounts, context) if with_transactions else None
    seconds["features"] = time.perf_counter() - started
    return FeatureSet(context, hits, accounts, txn_frame, seconds)


def detect(
    dataset: Dataset,
    model: RiskModel | None = None,
    *,
    budget: int = 100,
    config: DetectorConfig | None = None,
) -> Detection:
    """Detect, score and rank: at most `budget` alerts, highest risk first."""
    if budget < 0:
        raise ValueError("the alert budget cannot be negative")
    config = config or detector_config_for(model)
    transaction_level = model is not None and model.level == "transaction"
    features = build_features(dataset, config, with_transactions=transaction_level)
    started = time.perf_counter()
    txn_risk: np.ndarray | None = None
    if model is None:
        risk = rule_scores(features.hits, dataset.n_accounts)
        threshold, scorer = RULE_THRESHOLD, "rules"
    elif transaction_level:
        assert features.transactions is not None
        txn_risk = model.predict(features.transactions)
        risk = np.zeros(dataset.n_accounts)
        np.maximum.at(risk, features.context.src, txn_risk)
        np.maximum.at(risk, features.context.dst, txn_risk)
        threshold, scorer = model.threshold, "model"
    else:
        risk, threshold, scorer = model.predict(features.accounts), model.threshold, "model"
    features.seconds["scoring"] = time.perf_counter() - started
    started = time.perf_counter()
    alerts = build_alerts(
        features, risk, threshold, budget=budget, model=model, transaction_risk=txn_risk
    )
    features.seconds["alerts"] = time.perf_counter() - started
    stats: dict[str, Any] = {
        "accounts": dataset.n_accounts,
        "transactions": dataset.n_transactions,
        "flagged": int((risk >= threshold).sum()),
        "seconds": {k: round(v, 3) for k, v in features.seconds.items()},
    }
    return Detection(
        dataset=dataset.name,
        scorer=scorer,
        level="transaction" if transaction_level else "account",
        threshold=float(threshold),
        features=features.accounts,
        risk=risk,
        transaction_risk=txn_risk,
        hits=features.hits,
        alerts=alerts,
        stats=stats,
    )


def rule_scores(hits: list[PatternHit], n_accounts: int) -> np.ndarray:
    """The documented rule score per account from detector hits (no model)."""
    log_clean = np.zeros(n_accounts)
    if not hits:
        return log_clean
    members = [unique_sorted(np.asarray(hit.accounts, dtype=np.int64)) for hit in hits]
    strength = np.array([RULE_WEIGHTS.get(hit.pattern, 0.5) * hit.score for hit in hits])
    strength = np.repeat(np.minimum(strength, 1.0 - 1e-9), [len(m) for m in members])
    np.add.at(log_clean, np.concatenate(members), np.log1p(-strength))
    return 1.0 - np.exp(log_clean)
