"""The console's tables: core health, recent decisions, checked answers per service, and the
router evaluation file as a summary, plot points and a strategies table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs
from pydantic import BaseModel, ConfigDict, ValidationError

from twincore.apps.calls import friendly_time
from twincore.platform.errors import clean_message
from twincore.platform.gateway.service_tracking import CANCELLED
from twincore.platform.router.escalation import summarize_block

DECISION_COLUMNS = [
    "when", "caller", "asked", "core", "why", "escalations", "outcome", "tokens in/out", "took",
]  # fmt: skip
DECISION_WIDTHS: list[str | int] = [
    "110px", "130px", "70px", "60px", "260px", "200px", "170px", "90px", "70px",
]  # fmt: skip
"""Wide enough that short headers ("escalations") do not wrap one letter a line."""
STRATEGY_POINTS = ["strategy", "cost", "quality"]
SWEEP = "threshold sweep"
NO_EVALUATION = (
    "**No evaluation yet.** Start one below (a few items per service answered on both cores), "
    "or run `twincore eval router`."
)
NO_DECISIONS = "No routed requests yet: API chat completions and every screen's calls appear here."
_CANCELLED_ERRORS = ("CancelledError", "GeneratorExit")
"""How rows logged before stopped calls had a plain reason read (`CancelledError: `)."""


class StrategyResult(BaseModel):
    model_config = ConfigDict(extra="allow")  # the table shows whatever else a strategy reports
    name: str
    quality: float
    cost: float
    deep_share: float | None = None


class CurvePoint(BaseModel):
    threshold: float
    deep_share: float
    quality: float
    cost: float


class RouterEvaluation(BaseModel):
    """`<data_dir>/evals/router.json`, as `twincore eval router` writes it."""

    created_at: str
    apgr: float | None  # None when deep was no better than swift: no gain to route for
    router_beats_random: bool
    strategies: list[StrategyResult]
    curve: list[CurvePoint] = []
    items: int | None = None
    duration_s: float | None = None


def core_table(health: dict[str, Any]) -> pd.DataFrame:
    """One row per core: its own health numbers, then the router's view of it when present."""
    cores: dict[str, Any] = health.get("cores") or {}
    routed: dict[str, Any] = (health.get("router") or {}).get("cores") or {}
    rows: list[dict[str, Any]] = []
    for name in dict.fromkeys([*cores, *routed]):
        row: dict[str, Any] = {"core": name}
        for key, value in (cores.get(name) or {}).items():
            if isinstance(value, bool | int | float) or key == "error":
                row[key] = value
        for key, value in (routed.get(name) or {}).items():
            if value is None or isinstance(value, bool | int | float):
                row[f"router {key}" if key in row else key] = value
        rows.append(row)
    return _table(rows)


def decision_table(requests: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per routed request, newest first: who asked, which core, why, how it ended."""
    rows = [
        [
            friendly_time(r["time"]),
            f"{r['service']} ({r.get('source') or 'api'})" if r.get("service") else "API",
            r["model"] or "",
            r["core"] or "",
            r["reason"] or "",
            summarize_block({"attempts": r.get("attempts")}),
            outcome(r),
            f"{r['prompt_tokens']}/{r['completion_tokens']}",
            f"{r['latency_ms'] / 1000:.1f} s",
        ]
        for r in requests
    ]
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def outcome(request: dict[str, Any]) -> str:
    """How a request ended, in words: stopped, failed (why), or answered (and checked)."""
    error, status = request.get("error") or "", request["status"]
    if status == 499 or error.startswith(_CANCELLED_ERRORS):
        return CANCELLED
    if error or status >= 400:
        return f"failed ({status}): {clean_message(error)}" if error else f"failed ({status})"
    words = "answered"
    if request.get("fallback"):
        words += ", by the fallback core"
    verified = request.get("verified")
    if verified is not None:
        words += ", checker accepted" if verified else ", checker rejected"
    return words


SERVICE_COLUMNS = {
    "service": "service",
    "answers": "checked answers",
    "swift_share": "answered by swift",
    "escalation_rate": "escalated",
    "verified_rate": "checker accepted",
    "tokens_per_answer": "tokens per answer",
}
NO_SERVICE_ANSWERS = (
    "No checked service answers yet: each service's answers (API and screens) appear here."
)


def service_table(summary: list[dict[str, Any]]) -> pd.DataFrame:
    """Per service: share answered by swift, escalation and checker pass rates (as %)."""
    rows = [
        [
            row[key] if key in ("service", "answers", "tokens_per_answer") else f"{row[key]:.0%}"
            for key in SERVICE_COLUMNS
        ]
        for row in summary
    ]
    return pd.DataFrame(rows, columns=list(SERVICE_COLUMNS.values()))


def read_evaluation(path: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """Summary, plot points (strategies and the threshold sweep) and the strategies table;
    a missing or malformed file gives a message and empty tables, never an exception."""
    empty = pd.DataFrame(columns=STRATEGY_POINTS)
    try:
        evaluation = RouterEvaluation.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return NO_EVALUATION, empty, pd.DataFrame()
    except (OSError, ValidationError) as error:
        message = (
            f"Could not read the evaluation file: {_first_problem(error)}. "
            "Start a new evaluation below."
        )
        return message, empty, pd.DataFrame()
    points = [[s.name, s.cost, s.quality] for s in evaluation.strategies]
    points += [[SWEEP, p.cost, p.quality] for p in evaluation.curve]
    scope = f" on {evaluation.items} items" if evaluation.items else ""
    summary = (
        f"**APGR** {'n/a' if evaluation.apgr is None else f'{evaluation.apgr:.3f}'}"
        " · router beats random: "
        f"**{'yes' if evaluation.router_beats_random else 'no'}** · "
        f"evaluated {friendly_time(evaluation.created_at)}{scope}"
    )
    strategies = _table([s.model_dump() for s in evaluation.strategies], digits=3)
    return summary, pd.DataFrame(points, columns=STRATEGY_POINTS), strategies


def _table(rows: list[dict[str, Any]], digits: int = 1) -> pd.DataFrame:
    """Rows with differing keys as one table: every key a column, blank where a row lacks it."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(column), digits) for column in columns] for row in rows]
    return pd.DataFrame(cells, columns=columns)


def _cell(value: Any, digits: int) -> Any:
    """A value a table shows plainly: floats rounded, nothing for None, JSON for containers."""
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, digits)
    return json.dumps(value) if isinstance(value, dict | list) else value


def _first_problem(error: OSError | ValidationError) -> str:
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def padded_range(points: pd.DataFrame, column: str = "cost") -> list[float | None] | None:
    """The plot's range for `column` with a margin: the strategies sit at the extremes (always
    swift, always deep), and at the axis edge their markers were cut in half."""
    if points.empty:
        return None
    low, high = float(points[column].min()), float(points[column].max())
    margin = max((high - low) * 0.06, 0.02)
    return [low - margin, high + margin]
