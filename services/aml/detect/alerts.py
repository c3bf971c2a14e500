"""Alerts: the highest-risk accounts, each with its reasons and a bounded subgraph to show.

An alert names its subject account, its score, the patterns it takes part in, human-readable
reasons (each pattern hit with its evidence and window; with a model, the features that pushed
the score up most, by LightGBM's SHAP contributions, with their values) and the transactions and
accounts to draw: the pattern's own transactions first, then the account's other payments,
at most `MAX_SUBGRAPH_TRANSACTIONS`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from twincore.services.aml.detect.detectors import PatternHit

if TYPE_CHECKING:
    from twincore.services.aml.detect.classifier import RiskModel
    from twincore.services.aml.detect.pipeline import FeatureSet

MAX_SUBGRAPH_TRANSACTIONS = 200
TOP_FEATURES = 3
HITS_PER_ALERT = 3


@dataclass
class Alert:
    """One account to review."""

    subject_account: int
    score: float
    patterns: list[str]
    reasons: list[str]
    transactions: list[int]
    accounts: list[int]
    top_features: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_alerts(
    features: FeatureSet,
    risk: np.ndarray,
    threshold: float,
    *,
    budget: int,
    model: RiskModel | None,
    transaction_risk: np.ndarray | None,
) -> list[Alert]:
    """Alerts for the accounts at or above `threshold`, highest risk first, at most `budget`."""
    order = np.argsort(-risk, kind="stable")
    chosen = [int(a) for a in order[:budget] if risk[a] >= threshold]
    if not chosen:
        return []
    wanted = set(chosen)
    hits_of: dict[int, list[PatternHit]] = {a: [] for a in chosen}
    for hit in features.hits:
        for account in set(hit.accounts) & wanted:
            hits_of[account].append(hit)
    ctx = features.context
    explained = _explanations(features, chosen, model, transaction_risk)
    alerts: list[Alert] = []
    for account in chosen:
        hits = sorted(hits_of[account], key=lambda h: -h.score)
        reasons = [_hit_reason(hit, account) for hit in hits[:HITS_PER_ALERT]]
        if len(hits) > HITS_PER_ALERT:
            reasons.append(f"and {len(hits) - HITS_PER_ALERT} more pattern hits")
        top, feature_reasons = explained.get(account, ({}, []))
        reasons += feature_reasons
        if model is None and not hits:
            reasons.append("no pattern hit")  # cannot happen with the rule score; kept honest
        transactions = _subgraph(account, hits, ctx.src, ctx.dst, transaction_risk)
        accounts = [account] + [
            int(a)
            for a in dict.fromkeys(
                np.concatenate([ctx.src[transactions], ctx.dst[transactions]]).tolist()
            )
            if a != account
        ]
        alerts.append(
            Alert(
                subject_account=account,
                score=round(float(risk[account]), 6),
                patterns=list(dict.fromkeys(h.pattern for h in hits)),
                reasons=reasons,
                transactions=[int(t) for t in transactions],
                accounts=accounts,
                top_features=top,
            )
        )
    return alerts


def _hit_reason(hit: PatternHit, account: int) -> str:
    role = "hub" if hit.evidence.get("hub") == account else "member"
    facts = ", ".join(f"{k}={v}" for k, v in hit.evidence.items() if k != "hub")
    start, end = (_day(t) for t in hit.window)
    return f"{hit.pattern} ({role}, score {hit.score:.2f}): {facts}; {start} to {end}"


def _explanations(
    features: FeatureSet,
    accounts: list[int],
    model: RiskModel | None,
    transaction_risk: np.ndarray | None,
) -> dict[int, tuple[dict[str, float], list[str]]]:
    """Top SHAP features per alerted account (model scoring only)."""
    if model is None:
        return {}
    if model.level == "account":
        rows = features.accounts.iloc[accounts]
        subjects = {a: f"account {a}" for a in accounts}
        row_of = {a: i for i, a in enumerate(accounts)}
    else:
        assert features.transactions is not None and transaction_risk is not None
        ctx = features.context
        touching = np.isin(ctx.src, accounts) | np.isin(ctx.dst, accounts)
        candidates = np.flatnonzero(touching)
        wanted = set(accounts)
        best: dict[int, int] = {}
        for txn in candidates[np.argsort(-transaction_risk[candidates], kind="stable")]:
            for end in (int(ctx.src[txn]), int(ctx.dst[txn])):
                if end in wanted and end not in best:
                    best[end] = int(txn)
            if len(best) == len(accounts):
                break
        accounts = [a for a in accounts if a in best]
        rows = features.transactions.iloc[[best[a] for a in accounts]]
        subjects = {a: f"transaction {best[a]}" for a in accounts}
        row_of = {a: i for i, a in enumerate(accounts)}
    contributions = model.contributions(rows)
    values = rows[model.feature_names].to_numpy(dtype=np.float64)
    result: dict[int, tuple[dict[str, float], list[str]]] = {}
    for account in accounts:
        i = row_of[account]
        strongest = np.argsort(-contributions[i, :-1])[:TOP_FEATURES]
        top: dict[str, float] = {}
        text: list[str] = []
        for j in strongest:
            if contributions[i, j] <= 0:
                continue
            name = model.feature_names[j]
            top[name] = round(float(values[i, j]), 4)
            text.append(
                f"{subjects[account]}: {name} = {values[i, j]:.4g} "
                f"(+{contributions[i, j]:.2f} log-odds)"
            )
        result[account] = (top, text)
    return result


def _subgraph(
    account: int,
    hits: list[PatternHit],
    src: np.ndarray,
    dst: np.ndarray,
    transaction_risk: np.ndarray | None,
) -> list[int]:
    """The pattern transactions first, then the account's own, at most the display bound."""
    chosen: dict[int, None] = {}
    for hit in hits:
        for txn in hit.transactions:
            chosen[int(txn)] = None
            if len(chosen) >= MAX_SUBGRAPH_TRANSACTIONS:
                return list(chosen)
    own = np.flatnonzero((src == account) | (dst == account))
    if transaction_risk is not None:
        own = own[np.argsort(-transaction_risk[own], kind="stable")]
    else:
        own = own[::-1]  # most recent first (rows are in time order)
    for txn in own.tolist():
        chosen[int(txn)] = None
        if len(chosen) >= MAX_SUBGRAPH_TRANSACTIONS:
            break
    return list(chosen)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%d %H:%M")
