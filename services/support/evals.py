"""Run `eval support` from settings: a fresh Northwind graph, the cores asked for, the report.

The graph is always a fresh embedded FalkorDB in a temporary folder with Northwind loaded
(about a second): the configured store may hold support knowledge or a partial load, and the
references' results must not depend on it. The cores asked for are built in-process behind the
router the settings describe (`platform/evals/local.py`) and asked as the support service; each
scored question streams to `<data_dir>/evals/support-<name>.rows.jsonl` as it finishes, so an
interrupted run keeps its work, and the report goes to `support-<name>.json`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from twincore.platform.evals.local import (
    RowLog,
    core_names,
    local_router_sync,
    save_report,
    service_models,
)
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.setup import service_ladder
from twincore.platform.settings import Settings
from twincore.services.support.eval.scoring import Question, evaluate
from twincore.services.support.knowledge.northwind import load_northwind
from twincore.services.support.service import HINTS, SERVICE, support_chat_model

CORE_CHOICES = ("swift", "deep", "both", "cascade")
"""`cascade`: both cores behind the router, asked `auto` as the service asks them."""


@contextmanager
def temporary_northwind() -> Iterator[FalkorDBStore]:
    """An embedded FalkorDB holding Northwind only, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="twincore-eval-support-") as folder:
        store = FalkorDBStore(Path(folder) / "northwind.db")
        try:
            load_northwind(store)
            yield store
        finally:
            store.close()


def report_name(questions: Path, core: str, limit: int | None) -> str:
    """`<questions file>-<core>[-limit<N>]`: one report per question set, core and size."""
    return f"{questions.stem}-{core}" + (f"-limit{limit}" if limit else "")


def run_support_eval(
    settings: Settings,
    questions: Sequence[Question],
    *,
    name: str,
    core: str = "swift",
    limit: int | None = None,
    max_attempts: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], Path]:
    """The report for `core` (swift, deep, both, or the cascade over both) on a fresh
    Northwind graph, through the service's checker and the policy's ladder, and where it was
    saved; `max_attempts` overrides the ladder's."""
    if core not in CORE_CHOICES:
        raise ValueError(f"core must be swift, deep, both or cascade, not {core!r}")
    names = core_names("both" if core == "cascade" else core)
    with (
        local_router_sync(settings, names) as router,
        RowLog(settings, SERVICE, name) as rows,
        temporary_northwind() as store,
    ):

        def on_row(core_name: str, row: dict[str, Any]) -> None:
            rows.add({"core": core_name, **row})
            if on_done:
                on_done()

        models = (
            {"cascade": support_chat_model(router)}
            if core == "cascade"
            else service_models(router, SERVICE, names, HINTS)
        )
        report = evaluate(
            questions,
            store,
            models,
            limit=limit,
            ladder=service_ladder(settings, SERVICE),
            max_attempts=max_attempts,
            on_total=on_total,
            on_row=on_row,
        )
    report["models"] = {n: getattr(settings.cores, n).model for n in names}
    report["graph"] = "fresh embedded FalkorDB with Northwind"
    report["rows_file"] = str(rows.path)
    return report, save_report(settings, SERVICE, name, report)
