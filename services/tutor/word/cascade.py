"""Word problems through the router's escalation: the checker (`verify.py`) decides whether a
candidate set stands, and the tutor's ladder decides what comes next.

The tutor's ladder (`escalation.ladders.tutor` in the routing policy) is `first` (the request as
asked: `auto` lets the router pick the core and the number of candidates), `more` (the same core
with twice the candidates: the earlier ones vote again, only the new ones are generated), then
`other` (deep, fresh, when swift answered and the caller did not pin a core). A `repair` rung,
if a policy adds one, shows the previous program and the checker's reasons.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from twincore.platform.chat_model import from_chat_messages
from twincore.platform.router.escalation import (
    Escalation,
    Ladder,
    Rung,
    Tried,
    escalate,
    repair_messages,
)
from twincore.platform.router.types import AUTO
from twincore.services.tutor.word.problems import Mode, WordSolution, solve_word_problem, validate
from twincore.services.tutor.word.verify import check_solution


@dataclass
class CheckedWord:
    """The word problem's answer that stands, with its escalation (the `twincore` block)."""

    solution: WordSolution
    escalation: Escalation[WordSolution]

    def as_dict(self) -> dict[str, Any]:
        return {**self.solution.as_dict(), "twincore": self.escalation.as_dict()}


def answer_text(solution: WordSolution) -> str:
    """The reply a repair turn shows: the one that gave the voted answer, else the first."""
    chosen = next((c for c in solution.candidates if c.answer == solution.answer), None)
    return (chosen or solution.candidates[0]).reply


async def solve_checked(
    question: str,
    model: BaseChatModel,
    ladder: Ladder,
    *,
    requested: str = AUTO,
    candidates: int | None = None,
    mode: Mode = "pal",
    max_tokens: int | None = None,
    sandbox_slots: asyncio.Semaphore | None = None,
) -> CheckedWord:
    """Solve `question`, climbing `ladder` until `check_solution` accepts a candidate set.

    `requested` is the core the user asked for (`auto`, `deep`, `swift`: a core pins every
    rung); `candidates` the first rung's number (None: the router's budget). Raises `Invalid`
    for bad input and, when no rung produced an answer, what the last one raised.
    """
    validate(question, mode, candidates)
    slots = sandbox_slots or asyncio.Semaphore(2)
    sets: list[WordSolution] = []

    async def attempt(rung: Rung) -> Tried[WordSolution]:
        core = None if rung.model == AUTO else rung.model
        previous = sets[-1] if sets else None
        same_core = previous is not None and previous.core == rung.model
        # `more` keeps the earlier votes of the same core; other rungs start afresh.
        reuse = previous if rung.step == "more" and same_core and previous else None
        solution = await solve_word_problem(
            question,
            model,
            candidates=rung.candidates,
            mode=mode,
            max_tokens=max_tokens,
            sandbox_slots=slots,
            core=core,
            follow_up=from_chat_messages(repair_messages(rung)),
            prior=reuse.candidates if reuse else (),
            prior_decision=reuse.decision if reuse else None,
        )
        sets.append(solution)
        reused = len(reuse.candidates) if reuse else 0
        return Tried(
            solution,
            check_solution(solution),
            core=solution.core or rung.model,
            text=answer_text(solution),
            candidates=len(solution.candidates),
            completion_tokens=sum(c.completion_tokens for c in solution.candidates[reused:]),
            decision=solution.decision,
        )

    escalation = await escalate(attempt, ladder, model=requested, candidates=candidates)
    return CheckedWord(escalation.answer, escalation)
