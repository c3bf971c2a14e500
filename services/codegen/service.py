"""The code generation service: the facade the API and the Gradio app call.

`generate` runs the loop (write, sandbox; a failing answer climbs codegen's escalation ladder:
a repair turn with the failing tests' output, then the other core) and stores the run with its
`twincore` block (every round's core, verdict and reasons); `stream` does the same while
yielding each step; `run` only sandboxes given code against tests; `runs` and `get` read
stored runs; `readiness` says which languages the machine's sandbox tools can check. Without
bubblewrap (or a language's compiler) a request is refused with a 503 naming what is missing
and the apt command that installs it, before anything is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from twincore.platform.db.engine import create_db_engine, session_factory
from twincore.platform.doctor import install_command, missing_tools
from twincore.platform.errors import Invalid, NotFound
from twincore.platform.router.router import RouterClient
from twincore.platform.router.setup import service_ladder
from twincore.platform.sandbox.languages import LANGUAGES, Language, run_program
from twincore.platform.sandbox.runner import Limits, RunResult, SandboxUnavailableError
from twincore.platform.settings import Settings
from twincore.services.codegen import store
from twincore.services.codegen.harness.problems import task_program
from twincore.services.codegen.loop import (
    SERVICE,
    Attempt,
    Candidate,
    CodeTask,
    LoopEvent,
    LoopRun,
    codegen_chat_model,
)

logger = logging.getLogger(__name__)

RUN_LIMITS = Limits(wall_s=10.0, cpu_s=10.0, memory_mb=1024, processes=32)
MAX_SAMPLES = 8
MAX_ROUNDS = 4
TOOLS: dict[str, tuple[str, ...]] = {
    "python": ("bwrap",),
    "java": ("bwrap", "javac"),
    "cpp": ("bwrap", "g++"),
}
"""What the sandbox needs on PATH to check a program of each language."""


@dataclass(frozen=True)
class StoredRun:
    """The last event of `stream`: the run as stored (a plain module-level dataclass, like
    `LoopEvent`, so both pickle across a Ray handle)."""

    view: dict[str, Any]


def check_task(task: CodeTask, code: str) -> RunResult:
    """Run `code` with the task's tests in the sandbox (blocking)."""
    language = checked_language(task.language)
    return run_program(language, task_program(language, code, task.tests), limits=RUN_LIMITS)


def validate_task(task: CodeTask, samples: int | None, rounds: int) -> None:
    """Refuse a task the loop cannot run (`Invalid`, a 422) before anything is stored."""
    checked_language(task.language)
    if not task.spec.strip() and not task.signature.strip():
        raise Invalid("give a spec, a signature, or both", param="spec")
    if samples is not None and not 1 <= samples <= MAX_SAMPLES:
        raise Invalid(f"samples must be between 1 and {MAX_SAMPLES}", param="samples")
    if not 0 <= rounds <= MAX_ROUNDS:
        raise Invalid(f"rounds must be between 0 and {MAX_ROUNDS}", param="rounds")


def require_sandbox(language: str) -> None:
    """Refuse with `SandboxUnavailableError` (a 503) naming the missing tools and the command
    that installs them, before a run is stored: a machine without bubblewrap, or without the
    language's compiler, cannot check code."""
    missing = missing_tools(TOOLS.get(language, ()))
    if missing:
        raise SandboxUnavailableError(
            f"code generation for {language} is unavailable: {', '.join(missing)} "
            f"not installed on the server; install with `{install_command(missing)}`"
        )


def sandbox_readiness() -> dict[str, Any]:
    """Which languages the sandbox can check now: `ready` when all of them, `degraded` when
    some (bubblewrap is there, a compiler is not), `unavailable` when none."""
    missing = missing_tools(dict.fromkeys(t for tools in TOOLS.values() for t in tools))
    languages = {
        language: not any(tool in missing for tool in tools) for language, tools in TOOLS.items()
    }
    state = "ready" if not missing else "degraded" if any(languages.values()) else "unavailable"
    report: dict[str, Any] = {"ok": not missing, "state": state, "languages": languages}
    if missing:
        report["missing"] = missing
        report["install"] = install_command(missing)
        report["reason"] = f"sandbox tools missing: {', '.join(missing)}"
    return report


def checked_language(language: str) -> Language:
    """`language` as one the sandbox runs; `Invalid` for any other."""
    for known in LANGUAGES:
        if language == known:
            return known
    choices = ", ".join(LANGUAGES)
    raise Invalid(f"language must be one of {choices}, not {language!r}", param="language")


class CodegenService:
    """Generates code through the router and checks it in the sandbox; runs live in SQL."""

    def __init__(self, router: RouterClient, settings: Settings) -> None:
        self.router = router
        self.ladder = service_ladder(settings, SERVICE)
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
        """The loop's events as they happen, then the stored run. Bad input raises `Invalid`
        before anything is stored; a failure during the loop (a core's `TwincoreError`, a
        missing sandbox) marks the run `error`, then propagates."""
        task = CodeTask(language=language, spec=spec, signature=signature, tests=tests)
        validate_task(task, samples, rounds)
        require_sandbox(language)
        chat = codegen_chat_model(self.router, model=model)
        loop = LoopRun(
            chat,
            task,
            partial(check_task, task),
            n=samples,
            rounds=rounds,
            max_tokens=max_tokens,
            ladder=self.ladder,
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
        except Exception as error:
            await asyncio.to_thread(
                store.fail_run, self.sessions, run_id, str(error), time.perf_counter() - started
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
                twincore=outcome.twincore,
            )
        )
        yield StoredRun(view)

    async def run(
        self, *, language: str, code: str, tests: str = "", stdin: str | None = None
    ) -> dict[str, Any]:
        """Sandbox `code` against `tests` (no model); stored as a run of kind `run`."""
        known = checked_language(language)
        if not code.strip():
            raise Invalid("code is empty", param="code")
        require_sandbox(language)
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
        program = task_program(known, code, tests)
        result = await asyncio.to_thread(
            partial(
                run_program,
                known,
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

    async def readiness(self) -> dict[str, Any]:
        """The service's availability for `/readyz`: the sandbox tools each language needs."""
        return sandbox_readiness()

    async def runs(self, *, limit: int = 20) -> list[dict[str, Any]]:
        return await asyncio.to_thread(partial(store.list_runs, self.sessions, limit=limit))

    async def get(self, run_id: int) -> dict[str, Any]:
        """One stored run with its candidates and attempts; `NotFound` for an unknown id."""
        run = await asyncio.to_thread(store.get_run, self.sessions, run_id)
        if run is None:
            raise NotFound(f"no codegen run {run_id}", param="run_id")
        return run
