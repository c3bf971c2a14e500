"""Run `eval support` from settings: a fresh Northwind graph, the cores asked for, the report.

The graph is always a fresh embedded FalkorDB in a temporary folder with Northwind loaded
(about a second): the configured store may hold support knowledge or a partial load, and the
references' results must not depend on it. Only the cores asked for are built, in-process,
behind the router the settings describe, and asked as the support service.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twincore.platform.cores import CoreServer
from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.platform.router.setup import build_router
from twincore.platform.settings import Settings
from twincore.services.support.evaluation import Question, evaluate
from twincore.services.support.northwind import load_northwind
from twincore.services.support.support_model import support_chat_model

CORE_CHOICES = {"swift": ("swift",), "deep": ("deep",), "both": ("swift", "deep")}


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


def run_support_eval(
    settings: Settings,
    questions: Sequence[Question],
    *,
    core: str = "swift",
    limit: int | None = None,
    max_attempts: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The evaluation report for `core` (swift, deep or both) on a fresh Northwind graph."""
    if core not in CORE_CHOICES:
        raise ValueError(f"core must be swift, deep or both, not {core!r}")
    names = CORE_CHOICES[core]
    cores = {
        name: CoreServer(name, getattr(settings.cores, name), data_dir=settings.data_dir)
        for name in names
    }
    try:
        router = build_router(cores, settings)
        models = {name: support_chat_model(router, model=name) for name in names}
        extra = {} if max_attempts is None else {"max_attempts": max_attempts}
        with temporary_northwind() as store:
            report = evaluate(
                questions, store, models, limit=limit, on_total=on_total, on_done=on_done, **extra
            )
    finally:
        for server in cores.values():
            asyncio.run(server.aclose())
    report["models"] = {name: getattr(settings.cores, name).model for name in names}
    report["graph"] = "fresh embedded FalkorDB with Northwind"
    report["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def save_report(settings: Settings, name: str, data: dict[str, Any]) -> Path:
    """Write the report to `<data_dir>/evals/support-<name>.json` (atomically)."""
    path = settings.data_dir / "evals" / f"support-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
