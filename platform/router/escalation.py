"""Checker-driven escalation: a service's verifier decides whether an answer stands.

Every service pairs a model with a deterministic checker (Cypher execution, constraint checkers,
tests, SymPy, the narrative's number check). `escalate` runs a service's attempt on the rungs of
a ladder until the checker accepts an answer or the ladder (or its budget) ends:

- `first`: the request as asked: `auto` lets the router's policy pick the core and budget;
- `more`: the same core with more candidates (voting, pass@k);
- `repair`: the same core again, shown its previous answer and the checker's reasons;
- `other`: the other core (swift -> deep), fresh.

A rung that cannot apply is skipped (`other` after deep, or when the caller pinned a core).
Whatever happens, the result carries every attempt (core, verdict, reasons, tokens), and the
answer returned is the accepted one, or the last one with its failed verdict: never silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, Literal, TypeVar

from twincore.platform.router.types import AUTO

logger = logging.getLogger(__name__)

T = TypeVar("T")
Step = Literal["first", "more", "repair", "other"]
STEPS: tuple[Step, ...] = ("first", "more", "repair", "other")
OTHER_CORE = {"swift": "deep"}
"""Where `other` escalates to: only upwards; deep's failures are repaired, not handed down."""
MAX_CANDIDATES = 8


@dataclass(frozen=True)
class Verdict:
    """A checker's judgement of one answer."""

    passed: bool
    reasons: tuple[str, ...] = ()
    """Why it failed (or, on a pass, what it rests on), one plain sentence each."""
    score: float | None = None
    """Partial credit in [0, 1] where the checker has one (constraints met, tests passed)."""

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": list(self.reasons), "score": self.score}


@dataclass(frozen=True)
class Rung:
    """What one attempt should do: the service turns it into its own model call."""

    step: Step
    model: str
    """`auto` (the router decides) or a core's name."""
    candidates: int | None = None
    """None: the router's budget decides."""
    feedback: tuple[str, ...] = ()
    """The checker's reasons against the previous answer (a `repair` turn shows them)."""
    previous: str | None = None
    """The previous answer's text (a `repair` turn shows it)."""


@dataclass(frozen=True)
class Tried(Generic[T]):
    """What a service's attempt returns: its answer, the checker's verdict and the cost."""

    answer: T
    verdict: Verdict
    core: str
    """The core that answered (from the router's decision)."""
    text: str = ""
    """The answer as the model wrote it, for a later repair turn."""
    candidates: int = 1
    prompt_tokens: int = 0
    completion_tokens: int = 0
    decision: dict[str, Any] | None = None


@dataclass(frozen=True)
class Attempt:
    """One rung as it happened, as the response, request log and console show it."""

    step: Step
    core: str
    verdict: Literal["pass", "fail", "error"]
    reasons: tuple[str, ...]
    candidates: int
    tokens: int
    ms: float

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["ms"] = round(self.ms, 1)
        return data


@dataclass(frozen=True)
class Ladder:
    """The rungs a service climbs and the budget that stops it."""

    steps: tuple[Step, ...] = ("first", "repair", "other")
    max_attempts: int = 3
    max_tokens: int | None = None
    """Completion tokens over all attempts; the next rung starts only below it."""

    def __post_init__(self) -> None:
        if not self.steps or self.steps[0] != "first":
            raise ValueError(f"a ladder starts with 'first', got {list(self.steps)}")
        unknown = [s for s in self.steps if s not in STEPS]
        if unknown:
            raise ValueError(f"unknown ladder steps {unknown}; known: {list(STEPS)}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")


@dataclass
class Escalation(Generic[T]):
    """The answer a service settled on, its verdict, and every attempt on the way."""

    answer: T
    verdict: Verdict
    core: str
    attempts: list[Attempt] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    """The router's decision for the answer that stands."""

    @property
    def escalated(self) -> bool:
        return len(self.attempts) > 1

    @property
    def tokens(self) -> int:
        return sum(a.tokens for a in self.attempts)

    def as_dict(self) -> dict[str, Any]:
        """The `twincore` block of a service response."""
        return {
            "core": self.core,
            "verdict": self.verdict.as_dict(),
            "escalated": self.escalated,
            "attempts": [a.as_dict() for a in self.attempts],
            "decision": self.decision,
        }


Attempter = Callable[[Rung], Awaitable[Tried[T]]]


async def escalate(
    attempt: Attempter[T],
    ladder: Ladder | None = None,
    *,
    model: str = AUTO,
    candidates: int | None = None,
) -> Escalation[T]:
    """Climb the ladder until the checker accepts an answer; return it with every attempt.

    `model` is what the caller asked for: `auto` lets the router choose the first core and
    allows escalating to the other core; a core's name pins every rung to that core. An attempt
    that raises is recorded as `error` and the next rung is tried; when no attempt produced an
    answer, the last error is raised.
    """
    ladder = ladder or Ladder()
    attempts: list[Attempt] = []
    best: Tried[T] | None = None
    last: Tried[T] | None = None
    last_error: Exception | None = None
    core: str | None = None if model == AUTO else model
    spent = 0
    for step in ladder.steps:
        if len(attempts) >= ladder.max_attempts:
            break
        if ladder.max_tokens is not None and spent >= ladder.max_tokens:
            break
        rung = _rung(step, model, core, candidates, last)
        if rung is None:
            continue
        started = time.perf_counter()
        try:
            tried = await attempt(rung)
        except Exception as error:  # a core down, a sandbox failure: the next rung may serve
            logger.warning("escalation step %s on %s failed: %s", step, rung.model, error)
            attempts.append(
                Attempt(step, rung.model, "error", (_sentence(error),), rung.candidates or 1, 0,
                        (time.perf_counter() - started) * 1000)
            )  # fmt: skip
            last_error = error
            continue
        ms = (time.perf_counter() - started) * 1000
        tokens = tried.completion_tokens
        spent += tokens
        verdict: Literal["pass", "fail"] = "pass" if tried.verdict.passed else "fail"
        attempts.append(
            Attempt(step, tried.core, verdict, tried.verdict.reasons, tried.candidates, tokens, ms)
        )
        core, last = tried.core, tried
        if best is None or _better(tried.verdict, best.verdict):
            best = tried
        if tried.verdict.passed:
            break
    if last is None or best is None:
        assert last_error is not None  # the ladder has at least the `first` rung
        raise last_error
    # An accepted answer stands; otherwise the last one (it saw the most feedback) unless an
    # earlier one scored strictly higher on the checker's partial credit.
    chosen = best if best.verdict.passed or _better(best.verdict, last.verdict) else last
    return Escalation(chosen.answer, chosen.verdict, chosen.core, attempts, chosen.decision)


def _rung(
    step: Step, model: str, core: str | None, candidates: int | None, last: Tried[Any] | None
) -> Rung | None:
    if step == "first":
        return Rung("first", core or model, candidates)
    if last is None:  # every earlier rung raised: ask again as the first rung did
        return None if step == "other" else Rung(step, core or model, candidates)
    if step == "more":
        more = min(max(2, last.candidates * 2), MAX_CANDIDATES)
        return Rung("more", last.core, more) if more > last.candidates else None
    if step == "repair":
        return Rung("repair", last.core, candidates, last.verdict.reasons, last.text)
    if model != AUTO or last.core not in OTHER_CORE:
        return None  # pinned by the caller, or already on deep
    return Rung("other", OTHER_CORE[last.core], candidates)


def _better(a: Verdict, b: Verdict) -> bool:
    if a.passed != b.passed:
        return a.passed
    return (a.score or 0.0) > (b.score or 0.0)


def _sentence(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:300]


def summarize(attempts: Sequence[Attempt]) -> str:
    """One line for logs and screens: `swift fail -> swift repair fail -> deep pass`."""
    return " -> ".join(
        f"{a.core}{'' if a.step == 'first' else ' ' + a.step} {a.verdict}" for a in attempts
    )


REPAIR_INSTRUCTION = (
    "A checker rejected that answer for these reasons:\n{reasons}\n"
    "Write a corrected answer that fixes every point. Answer in the same format as before."
)


def repair_messages(rung: Rung) -> list[dict[str, str]]:
    """The chat turns a `repair` rung appends to the service's own prompt: the previous answer
    as the assistant's, then the checker's reasons as the user's (empty for other rungs)."""
    if rung.step != "repair" or rung.previous is None:
        return []
    reasons = "\n".join(f"- {reason}" for reason in rung.feedback) or "- it did not pass"
    return [
        {"role": "assistant", "content": rung.previous},
        {"role": "user", "content": REPAIR_INSTRUCTION.format(reasons=reasons)},
    ]


def attempts_of(rows: Iterable[Mapping[str, Any]]) -> list[Attempt]:
    """Attempts read back from their JSON form (a response's or the request log's)."""
    return [
        Attempt(a["step"], a["core"], a["verdict"], tuple(a.get("reasons") or ()),
                int(a.get("candidates") or 1), int(a.get("tokens") or 0), float(a.get("ms") or 0))
        for a in rows
    ]  # fmt: skip


def summarize_block(block: Mapping[str, Any] | None) -> str:
    """`summarize` of a `twincore` block as services return it; empty when there is none."""
    if not block or not block.get("attempts"):
        return ""
    return summarize(attempts_of(block["attempts"]))
