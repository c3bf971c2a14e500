"""Aggregate scored texts of `eval writing` into rates per condition, core and style.

A text *passes its constraints* when every constraint of the requested style passes (checker
score 1.0; `mean_score` shows partial credit). It is *classified* when the style classifier's
prediction is the requested style. `content_similarity` is the mean char-trigram cosine to the
source over rewrites (None when there are none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

CONDITIONS = ("guided", "unguided")
METRICS = ("constraint_pass_rate", "mean_score", "classifier_accuracy", "content_similarity")


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts and rates over `rows`: n, pass rate, mean score, classifier accuracy, similarity."""
    similarities = [float(r["similarity"]) for r in rows if r.get("similarity") is not None]
    return {
        "n": len(rows),
        "constraint_pass_rate": _mean([float(bool(r["passed"])) for r in rows]),
        "mean_score": _mean([float(r["score"]) for r in rows]),
        "classifier_accuracy": _mean([float(bool(r["classified"])) for r in rows]),
        "content_similarity": _mean(similarities),
        "rewrites": len(similarities),
    }


def _group(rows: Iterable[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[str(row[key])].append(row)
    return dict(groups)


def condition_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`summarize` overall plus `per_style` (styles in first-seen order)."""
    return {
        **summarize(rows),
        "per_style": {style: summarize(group) for style, group in _group(rows, "style").items()},
    }


def gain(guided: dict[str, Any], unguided: dict[str, Any]) -> dict[str, float | None]:
    """What checker guidance adds: guided minus unguided for each rate."""
    out: dict[str, float | None] = {}
    for metric in METRICS:
        a, b = guided.get(metric), unguided.get(metric)
        out[metric] = None if a is None or b is None else round(a - b, 4)
    return out


def build_report(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The report: top-level guided rates (overall and `per_style`), both conditions over all
    cores, the same `by_core`, guidance gains, and every scored row."""
    unknown = {r["condition"] for r in rows} - set(CONDITIONS)
    if unknown:
        raise ValueError(f"unknown conditions: {sorted(unknown)}")
    by_condition = _group(rows, "condition")
    conditions = {c: condition_summary(by_condition.get(c, [])) for c in CONDITIONS}
    by_core: dict[str, Any] = {}
    for core, core_rows in _group(rows, "core").items():
        split = _group(core_rows, "condition")
        summaries = {c: condition_summary(split.get(c, [])) for c in CONDITIONS}
        by_core[core] = {**summaries, "guidance_gain": gain(*summaries.values())}
    guided = conditions["guided"]
    return {
        "pass_rule": "every constraint of the requested style passes (checker score 1.0)",
        "constraint_pass_rate": guided["constraint_pass_rate"],
        "classifier_accuracy": guided["classifier_accuracy"],
        "content_similarity": guided["content_similarity"],
        "per_style": guided["per_style"],
        "conditions": conditions,
        "guidance_gain": gain(conditions["guided"], conditions["unguided"]),
        "by_core": by_core,
        "rows": list(rows),
    }


def table_rows(report: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(core, style, condition, summary) for a table: each core's styles, then its overall."""
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    for core, data in report["by_core"].items():
        styles = list(data["guided"]["per_style"])
        for style in [*styles, "overall"]:
            for condition in CONDITIONS:
                summary = data[condition]
                out.append(
                    (
                        core,
                        style,
                        condition,
                        summary
                        if style == "overall"
                        else summary["per_style"].get(style, summarize([])),
                    )
                )
    return out
