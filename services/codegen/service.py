"""The code generation service: the facade the API and the Gradio app call.

`generate` runs the loop (write, sandbox, repair; `samples` candidates, best passing wins) and
stores the run; `stream` does the same while yielding each step; `run` only sandboxes given
code against tests; `runs` and `get` read stored runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.db.engine import create_db_engine, session_factory
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.codegen import store
from twincore.services.codegen.languages import LANGUAGES, run_program
from twincore.services.codegen.llm import codegen_chat_model
from twincore.services.codegen.loop import Attempt, Candidate, CodeTask, LoopEvent, LoopRun
from twincore.services.codegen.problems import task_program
from twincore.services.codegen.sandbox import Limits, RunResult

logger = logging.getLogger(__name__)

RUN_LIMITS = Limits(wall_s=10.0, cpu_s=10.0, memory_mb=1024, processes=32)
MAX_SAMPLES = 8
MAX_ROUNDS = 4


@dataclass(frozen=True)
class StoredRun:
    """The last event of `stream`: the run as stored."""

    view: dict[str, Any]


def check_task(task: CodeTask, code: str) -> RunResult:
    """Run `code` with the task's tests in the sandbox (blocking)."""
    program = task_program(task.language, code, task.tests)  # type: ignore[arg-type]
    return run_program(task.language, program, limits=RUN_LIMITS)  # type: ignore[arg-type]


def validate_task(task: CodeTask, samples: int | None, rounds: int) -> None:
    if task.language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {task.language!r}")
    if not task.spec.strip() and not task.signature.strip():
        raise ValueError("give a spec, a signature, or both")
    if samples is not None and not 1 <= samples <= MAX_SAMPLES:
        raise ValueError(f"samples must be between 1 and {MAX_SAMPLES}")
    if not 0 <= rounds <= MAX_ROUNDS:
        raise ValueError(f"rounds must be between 0 and {MAX_ROUNDS}")


class CodegenService:
    """Generates code through the router and checks it in the sandbox; runs live in SQL."""

    def __init__(self, router: RouterClient, settings: Settings) -> None:
        self.router = router
        self.engine = create_db_engine(settings.database_url)
        self.sessions = session_factory(self.engine)

    async def generate(
        self,
        *,
        language: str,
        spec: str = "",
        signature: str = "",
        tests: str = "",
        model: str = "auto",
        samples: int | None = None,
        rounds: int = 2,
        max_tokens: int = 512,
    ) -> dict[str, Any]:
        """Run the loop to its verdict; the stored run (candidates, attempts, winner)."""
        view: dict[str, Any] | None = None
        async for event in self.stream(
            language=language,
            spec=spec,
            signature=signature,
            tests=tests,
            model=model,
            samples=samples,
            rounds=rounds,
            max_tokens=max_tokens,
        ):
            if isinstance(event, StoredRun):
                view = event.view
        assert view is not None
        return view

    async def stream(
        self,
        *,
        language: str,
        spec: str = "",
        signature: str = "",
        tests: str = "",
        model: str = "auto",
        samples: int | None = None,
        rounds: int = 2,
        max_tokens: int = 512,
    ) -> AsyncIterator[LoopEvent | StoredRun]:
        """The loop's events as they happen, then the stored run. Bad input raises ValueError
        before anything is stored; a failing core raises TwincoreError after the run is marked
        `error`."""
        task = CodeTask(language=language, spec=spec, signature=signature, tests=tests)
        validate_task(task, samples, rounds)
        chat = codegen_chat_model(self.router, model=model)
        loop = LoopRun(
            chat, task, partial(check_task, task), n=samples, rounds=rounds, max_tokens=max_tokens
        )
        run_id = await asyncio.to_thread(
            partial(
                store.start_run,
                self.sessions,
                kind="generate",
                task=task,
                model=model,
                samples=samples or 0,
                max_rounds=rounds,
            )
        )
        started = time.perf_counter()
        try:
            async for event in loop.events():
                yield event
        except (TwincoreError, RuntimeError, OSError) as error:
            message = str(error)
            await asyncio.to_thread(
                store.fail_run, self.sessions, run_id, message, time.perf_counter() - started
            )
            raise
        outcome = loop.outcome
        assert outcome is not None
        view = await asyncio.to_thread(
            partial(
                store.finish_run,
                self.sessions,
                run_id,
                candidates=outcome.candidates,
                best=outcome.best,
                decision=outcome.decision,
                duration_s=time.perf_counter() - started,
            )
        )
        yield StoredRun(view)

    async def run(
        self, *, language: str, code: str, tests: str = "", stdin: str | None = None
    ) -> dict[str, Any]:
        """Sandbox `code` against `tests` (no model); stored as a run of kind `run`."""
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        if not code.strip():
            raise ValueError("code is empty")
        task = CodeTask(language=language, tests=tests)
        run_id = await asyncio.to_thread(
            partial(
                store.start_run,
                self.sessions,
                kind="run",
                task=task,
                model="none",
                samples=1,
                max_rounds=0,
            )
        )
        started = time.perf_counter()
        program = task_program(language, code, tests)
        result = await asyncio.to_thread(
            partial(
                run_program,
                language,
                program,
                limits=RUN_LIMITS,
                stdin=stdin.encode("utf-8") if stdin is not None else None,
            )
        )
        candidate = Candidate(0, [Attempt(0, "", code, result)])
        return await asyncio.to_thread(
            partial(
                store.finish_run,
                self.sessions,
                run_id,
                candidates=[candidate],
                best=candidate,
                decision=None,
                duration_s=time.perf_counter() - started,
            )
        )

    async def runs(self, *, limit: int = 20) -> list[dict[str, Any]]:
        return await asyncio.to_thread(partial(store.list_runs, self.sessions, limit=limit))

    async def get(self, run_id: int) -> dict[str, Any] | None:
        return await asyncio.to_thread(store.get_run, self.sessions, run_id)
