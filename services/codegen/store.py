"""Reading and writing the service's runs: a run row first, its outcome in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from twincore.platform.db.base import utcnow
from twincore.platform.db.engine import session_scope
from twincore.services.codegen.loop import Candidate, CodeTask
from twincore.services.codegen.models import CodegenAttempt, CodegenCandidate, CodegenRun


def start_run(
    sessions: sessionmaker[Session],
    *,
    kind: str,
    task: CodeTask,
    model: str,
    samples: int,
    max_rounds: int,
) -> int:
    """Record that a run started (committed at once: a crash leaves a visible `running` row)."""
    with session_scope(sessions) as session:
        run = CodegenRun(
            kind=kind,
            language=task.language,
            spec=task.spec,
            signature=task.signature,
            tests=task.tests,
            model=model,
            samples=samples,
            max_rounds=max_rounds,
            status="running",
            code="",
        )
        session.add(run)
        session.flush()
        return run.id


def finish_run(
    sessions: sessionmaker[Session],
    run_id: int,
    *,
    candidates: list[Candidate],
    best: Candidate | None,
    decision: dict[str, Any] | None,
    duration_s: float,
    twincore: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store every candidate and attempt and the verdict together (with the escalation's
    `twincore` block, when the run had one); the run as the API shows it."""
    with session_scope(sessions) as session:
        run = session.get_one(CodegenRun, run_id)
        for candidate in candidates:
            row = CodegenCandidate(
                number=candidate.index,
                passed=candidate.passed,
                core=candidate.attempts[-1].core if candidate.attempts else None,
            )
            for attempt in candidate.attempts:
                result = attempt.result
                row.attempts.append(
                    CodegenAttempt(
                        round=attempt.round,
                        reply=attempt.reply,
                        code=attempt.code,
                        status=result.status,
                        reason=result.reason,
                        exit_code=result.exit_code,
                        stdout=result.stdout,
                        stderr=result.stderr,
                        compile_output=result.compile_output,
                        wall_s=result.wall_s,
                        cpu_s=result.cpu_s,
                        completion_tokens=attempt.completion_tokens,
                    )
                )
            run.candidates.append(row)
        run.status = "passed" if best is not None and best.passed else "failed"
        run.best_candidate = best.index if best else None
        run.code = best.code if best else ""
        run.decision = stored_decision(decision, twincore)
        run.duration_s = round(duration_s, 3)
        run.finished_at = utcnow()
        session.flush()
        return run_view(run)


def fail_run(sessions: sessionmaker[Session], run_id: int, error: str, duration_s: float) -> None:
    """The loop itself failed (no core, a sandbox error): the run says so, nothing half kept."""
    with session_scope(sessions) as session:
        run = session.get_one(CodegenRun, run_id)
        run.status, run.error = "error", error[:2000]
        run.duration_s, run.finished_at = round(duration_s, 3), utcnow()


def get_run(sessions: sessionmaker[Session], run_id: int) -> dict[str, Any] | None:
    with session_scope(sessions) as session:
        statement = (
            select(CodegenRun)
            .where(CodegenRun.id == run_id)
            .options(selectinload(CodegenRun.candidates).selectinload(CodegenCandidate.attempts))
        )
        run = session.scalars(statement).one_or_none()
        return run_view(run) if run else None


def list_runs(sessions: sessionmaker[Session], *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs first, without their candidates."""
    with session_scope(sessions) as session:
        statement = select(CodegenRun).order_by(CodegenRun.id.desc()).limit(limit)
        return [run_view(run, candidates=False) for run in session.scalars(statement)]


def stored_decision(
    decision: dict[str, Any] | None, twincore: dict[str, Any] | None
) -> dict[str, Any] | None:
    """What the `decision` column keeps: the router's decision, the escalation under `twincore`
    (its own copy of the decision left out: it is the same one)."""
    if twincore is None:
        return decision
    block = {key: value for key, value in twincore.items() if key != "decision"}
    return {**(decision or {}), "twincore": block}


def split_decision(
    stored: dict[str, Any] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the router's decision, the `twincore` block) from the `decision` column."""
    decision = dict(stored or {})
    block = decision.pop("twincore", None)
    if block is None:
        return stored, None
    return decision or None, {**block, "decision": decision or None}


def run_view(run: CodegenRun, *, candidates: bool = True) -> dict[str, Any]:
    decision, twincore = split_decision(run.decision)
    view: dict[str, Any] = {
        "id": run.id,
        "created_at": run.created_at.isoformat(),
        "kind": run.kind,
        "language": run.language,
        "model": run.model,
        "status": run.status,
        "samples": run.samples,
        "max_rounds": run.max_rounds,
        "best_candidate": run.best_candidate,
        "code": run.code,
        "core": (decision or {}).get("core"),
        "duration_s": run.duration_s,
        "error": run.error,
        "twincore": twincore,
    }
    if candidates:
        view["decision"] = decision
        view["candidates"] = [
            {
                "index": c.number,
                "passed": c.passed,
                "core": c.core,
                "attempts": [
                    {
                        "round": a.round,
                        "step": _step(twincore, a.round),
                        "status": a.status,
                        "reason": a.reason,
                        "exit_code": a.exit_code,
                        "code": a.code,
                        "stdout": a.stdout,
                        "stderr": a.stderr,
                        "compile_output": a.compile_output,
                        "wall_s": a.wall_s,
                    }
                    for a in c.attempts
                ],
            }
            for c in run.candidates
        ]
    return view


def _step(twincore: dict[str, Any] | None, round_: int) -> str | None:
    """The ladder's rung a round was (first, repair, other), from the escalation's attempts."""
    attempts = (twincore or {}).get("attempts") or []
    return str(attempts[round_]["step"]) if round_ < len(attempts) else None
