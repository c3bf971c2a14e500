"""The console's `twincore eval router` run as a background job: one at a time, on a thread of
its own (the screen stays live), its progress readable by every poll of the screen.

The run is the CLI's (platform/evals/runner.py): it builds its own cores, answers each service's
workload on swift then deep, and writes `<data_dir>/evals/router.json`, which the console plots.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from twincore.platform.errors import clean_message, user_message
from twincore.platform.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_PER_SERVICE = 3
"""Items per service workload: both cores answer each, a few minutes on swift-sized models."""

State = Literal["idle", "running", "done", "failed"]
Evaluate = Callable[[Settings, int, Callable[[], None]], int]
"""Runs the evaluation with `per_service` items, calling back once per answer; returns the
number of items scored (`evaluate_router` in production)."""


def count_answers(per_service: int) -> int:
    """How many answers a run makes: every item on both cores."""
    from twincore.platform.evals.runner import CORES, load_items

    return len(CORES) * len(load_items(per_service))


def evaluate_router(settings: Settings, per_service: int, on_answer: Callable[[], None]) -> int:
    """`twincore eval router --per-service N`: answers, compares, saves the report."""
    from twincore.platform.evals.runner import run, save_report

    report = run(settings, per_service=per_service, on_answer=lambda _answer: on_answer())
    save_report(settings, report)
    return int(report.get("items", 0))


@dataclass(frozen=True)
class Progress:
    """What the screen shows of the job."""

    state: State
    done: int = 0
    total: int = 0
    seconds: float = 0.0
    message: str = ""

    def line(self) -> str:
        """One line for the screen."""
        if self.state == "idle":
            return ""
        took = _duration(self.seconds)
        if self.state == "running":
            if not self.total:
                return f"Evaluating: reading the workloads, {took} so far."
            share = f"{self.done / self.total:.0%}"
            return f"Evaluating: {self.done} of {self.total} answers ({share}), {took} so far."
        if self.state == "done":
            return f"Evaluation finished in {took}: {self.message}"
        return f"Evaluation failed after {took}: {self.message}"


class EvalJob:
    """At most one evaluation at a time; `start` while one runs only says so."""

    def __init__(
        self,
        settings: Settings,
        evaluate: Evaluate = evaluate_router,
        count: Callable[[int], int] = count_answers,
    ) -> None:
        self._settings, self._evaluate, self._count = settings, evaluate, count
        self._lock = threading.Lock()
        self._progress = Progress("idle")
        self._started = 0.0
        self._thread: threading.Thread | None = None

    def start(self, per_service: int) -> str:
        """Start a run with `per_service` items per service; the sentence to show."""
        with self._lock:
            if self._progress.state == "running":
                return f"An evaluation is already running: {self._progress.line()}"
            self._started = time.perf_counter()
            self._progress = Progress("running")
            self._thread = threading.Thread(
                target=self._run, args=(per_service,), name="console-eval", daemon=True
            )
            self._thread.start()
            return f"Started: {per_service} items per service, each answered on both cores."

    def progress(self) -> Progress:
        with self._lock:
            progress = self._progress
            if progress.state == "running":
                return Progress("running", progress.done, progress.total, self._elapsed())
            return progress

    def wait(self, timeout: float | None = None) -> Progress:
        """The progress once the run ended (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.progress()

    def _answered(self) -> None:
        with self._lock:
            p = self._progress
            self._progress = Progress("running", p.done + 1, max(p.total, p.done + 1))

    def _run(self, per_service: int) -> None:
        try:
            total = self._count(per_service)  # reads every workload: seconds, so not in `start`
            with self._lock:
                self._progress = Progress("running", self._progress.done, total)
            items = self._evaluate(self._settings, per_service, self._answered)
        except Exception as error:
            logger.exception("console: the router evaluation failed")
            self._finish("failed", _sentence(error))
            return
        self._finish("done", f"{items} items scored (report split); the plot and table show it.")

    def _finish(self, state: State, message: str) -> None:
        with self._lock:
            p = self._progress
            self._progress = Progress(state, p.done, p.total, self._elapsed(), message)

    def _elapsed(self) -> float:
        return time.perf_counter() - self._started


def _sentence(error: Exception) -> str:
    # The runner's ValueErrors are sentences for the user (the CLI prints them as they are).
    return clean_message(str(error)) if isinstance(error, ValueError) else user_message(error)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
