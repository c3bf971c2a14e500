"""Local evaluation set-up shared by every `twincore eval ...`: the cores asked for, built in this
process behind the router the settings describe, a chat model that asks as the service, and the
report written as rows finish.

Rows stream to `<data_dir>/evals/<service>-<name>.rows.jsonl` one line at a time (flushed), so an
interrupted run keeps the work it did; the summary report goes to `<service>-<name>.json`,
written atomically at the end.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the model stack (torch) loads only when an evaluation builds cores
    from twincore.platform.chat_model import TwincoreChatModel
    from twincore.platform.cores import CoreServer
    from twincore.platform.router.router import Router
    from twincore.platform.settings import Settings

CORE_NAMES = ("swift", "deep")


def core_names(choice: str) -> tuple[str, ...]:
    """`swift`, `deep`, or `both`/`auto` (both cores) as the names of the cores to build."""
    if choice in CORE_NAMES:
        return (choice,)
    if choice in ("both", "auto"):
        return CORE_NAMES
    raise ValueError(f"core must be swift, deep or both, not {choice!r}")


def _build(settings: Settings, names: Sequence[str]) -> dict[str, CoreServer]:
    from twincore.platform.cores import CoreServer

    unknown = [name for name in names if name not in CORE_NAMES]
    if unknown:
        raise ValueError(f"no core named {unknown[0]!r}: choose from swift and deep")
    return {
        name: CoreServer(name, getattr(settings.cores, name), data_dir=settings.data_dir)
        for name in dict.fromkeys(names)
    }


@asynccontextmanager
async def local_router(settings: Settings, names: Sequence[str]) -> AsyncIterator[Router]:
    """The router over the named cores, built in this process; the cores close afterwards."""
    from twincore.platform.router.setup import build_router

    cores = _build(settings, names)
    try:
        yield build_router(cores, settings)
    finally:
        for core in cores.values():
            await core.aclose()


@contextmanager
def local_router_sync(settings: Settings, names: Sequence[str]) -> Iterator[Router]:
    """`local_router` for synchronous evaluations (the cores close on a private loop)."""
    from twincore.platform.router.setup import build_router

    cores = _build(settings, names)
    try:
        yield build_router(cores, settings)
    finally:
        for core in cores.values():
            asyncio.run(core.aclose())


def service_models(
    router: Router,
    service: str,
    names: Sequence[str],
    hints: Mapping[str, str] | None = None,
    **fields: Any,
) -> dict[str, TwincoreChatModel]:
    """A chat model per core name (`deep`, `swift` or `auto`), asking as `service`."""
    from twincore.platform.chat_model import TwincoreChatModel

    return {
        name: TwincoreChatModel.for_service(router, service, hints, model=name, **fields)
        for name in names
    }


def evals_dir(settings: Settings) -> Path:
    return settings.data_dir / "evals"


def save_report(settings: Settings, service: str, name: str, data: dict[str, Any]) -> Path:
    """Write `data` (plus `created_at`) to `<data_dir>/evals/<service>-<name>.json` atomically."""
    path = evals_dir(settings) / f"{service}-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
    temporary = path.with_suffix(".tmp")
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    temporary.write_text(text + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


class RowLog:
    """Rows of an evaluation appended to a JSONL file as they finish (thread-safe, flushed)."""

    def __init__(self, settings: Settings, service: str, name: str) -> None:
        self.path = evals_dir(settings) / f"{service}-{name}.rows.jsonl"
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def __enter__(self) -> RowLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def add(self, row: Mapping[str, Any]) -> None:
        """Append one row; it is on disk when this returns."""
        line = json.dumps(row, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            if self._file is None:
                raise RuntimeError("RowLog.add outside its `with` block")
            self._file.write(line)
            self._file.flush()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows an earlier (possibly interrupted) run streamed; a torn last line is skipped."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
