"""Word problems: the core writes a program (or reasons in prose), candidates vote on the number.

Program-aided (`mode="pal"`): each candidate is a Python program (SymPy allowed) written by the
core through LangChain and run in the platform's sandbox; its `answer` variable is its vote and its
top-level numeric variables are the quantities the explanation cites. Direct (`mode="direct"`):
each candidate reasons in prose and ends on `Answer: N`. Answers are normalised
(`answer.py`) and the majority wins, ties going to the earlier candidate.

The first candidate is greedy; the others are sampled, each with its own seed. `candidates=None`
takes their number from the router's budget (the first answer's decision), as codegen does.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from twincore.model_core.engine.constraint import Constraint
from twincore.platform.errors import Invalid
from twincore.platform.evals.gsm8k import normalise_number
from twincore.platform.evals.verify import extract_final_answer
from twincore.services.tutor.prompts import PROMPTS
from twincore.services.tutor.word.answer import vote
from twincore.services.tutor.word.program import run_word_program

Mode = Literal["pal", "direct"]
MODES: tuple[Mode, ...] = ("pal", "direct")
MAX_CANDIDATES = 8
MAX_QUESTION_CHARS = 4000
SAMPLING_TEMPERATURE = 0.7
MAX_TOKENS = {"pal": 320, "direct": 400}
PROGRAM = Constraint("regex", r"```python\n([^`\n]*\n){0,40}answer = [^`\n]+\n```", strict=False)
"""A program-aided reply is one fenced Python block whose last line assigns `answer` (the
engine masks every other token, so no reply is prose, a second block or a program without an
answer); what the program computes is still the sandbox's to find out."""


@dataclass
class WordCandidate:
    """One candidate: the reply, its program and what the program computed, its answer."""

    index: int
    reply: str
    answer: str | None
    status: str
    """`ok`, `no_answer`, or (program-aided) the sandbox's status: `failed`, `timeout`, ..."""
    core: str | None = None
    program: str = ""
    quantities: list[tuple[str, str]] = field(default_factory=list)
    output: str = ""
    error: str = ""
    completion_tokens: int = 0


@dataclass
class WordSolution:
    """The voted answer (None when no candidate produced a number) with its evidence."""

    question: str
    mode: Mode
    answer: str | None
    votes: dict[str, int]
    candidates: list[WordCandidate]
    explanation: str
    decision: dict[str, Any] | None = None

    @property
    def programs(self) -> list[str]:
        return [c.program for c in self.candidates if c.program]

    @property
    def core(self) -> str | None:
        return next((c.core for c in self.candidates if c.core), None)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["core"] = self.core
        return data


def validate(question: str, mode: str, candidates: int | None) -> None:
    """Bad input raises `Invalid` with the reason."""
    if not question.strip():
        raise Invalid("the question is empty", param="question")
    if len(question) > MAX_QUESTION_CHARS:
        raise Invalid(
            f"the question is longer than {MAX_QUESTION_CHARS} characters", param="question"
        )
    if mode not in MODES:
        raise Invalid(f"mode must be pal or direct, not {mode!r}", param="mode")
    if candidates is not None and not 1 <= candidates <= MAX_CANDIDATES:
        raise Invalid(f"candidates must be between 1 and {MAX_CANDIDATES}", param="candidates")


def _words(name: str) -> str:
    return re.sub(r"_+", " ", name).strip()


def explain(candidate: WordCandidate) -> str:
    """How the answer was reached: the quantities the program computed, or the reasoning."""
    if candidate.answer is None:
        return "No candidate produced a numeric answer."
    if not candidate.program:
        return candidate.reply.strip()
    if not candidate.quantities:
        return f"The program computed the answer {candidate.answer} directly."
    cited = [
        f"{_words(name)} = {normalise_number(value) or value}"
        for name, value in candidate.quantities
    ]
    return "The program computed " + "; ".join(cited) + f"; so the answer is {candidate.answer}."


async def _generate(
    model: BaseChatModel,
    messages: list[BaseMessage],
    index: int,
    mode: Mode,
    max_tokens: int | None,
    core: str | None,
) -> tuple[str, str | None, dict[str, Any] | None, int]:
    options: dict[str, Any] = {"max_tokens": max_tokens or MAX_TOKENS[mode]}
    if mode == "pal":
        options["constraint"] = PROGRAM
    if core is not None:
        options["model"] = core
    if index > 0:
        options.update(temperature=SAMPLING_TEMPERATURE, top_p=0.95, seed=index)
    reply = await model.ainvoke(messages, **options)
    meta = getattr(reply, "response_metadata", {}) or {}
    usage = getattr(reply, "usage_metadata", None) or {}
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    core = str(meta["core"]) if meta.get("core") else None
    return text, core, meta.get("decision"), int(usage.get("output_tokens", 0))


async def _candidate(
    model: BaseChatModel,
    messages: list[BaseMessage],
    index: int,
    mode: Mode,
    max_tokens: int | None,
    sandbox_slots: asyncio.Semaphore,
    asked: str | None = None,
) -> tuple[WordCandidate, dict[str, Any] | None]:
    text, core, decision, tokens = await _generate(model, messages, index, mode, max_tokens, asked)
    if mode == "direct":
        final = extract_final_answer(text)
        answer = normalise_number(final) if final is not None else None
        status = "ok" if answer is not None else "no_answer"
        candidate = WordCandidate(index, text, answer, status, core, completion_tokens=tokens)
        return candidate, decision
    async with sandbox_slots:
        run = await asyncio.to_thread(run_word_program, text)
    candidate = WordCandidate(
        index,
        text,
        run.answer,
        run.status,
        core,
        program=run.code,
        quantities=run.quantities,
        output=run.output,
        error=run.error,
        completion_tokens=tokens,
    )
    return candidate, decision


async def solve_word_problem(
    question: str,
    model: BaseChatModel,
    *,
    candidates: int | None = None,
    mode: Mode = "pal",
    max_tokens: int | None = None,
    sandbox_slots: asyncio.Semaphore | None = None,
    core: str | None = None,
    follow_up: Sequence[BaseMessage] = (),
    prior: Sequence[WordCandidate] = (),
    prior_decision: dict[str, Any] | None = None,
) -> WordSolution:
    """Solve `question` with `candidates` answers from `model` (None: the router's budget).

    `core` asks for a core by name on every call (None: the model's own setting); `follow_up`
    turns go after the question (a repair turn); `prior` candidates (from an earlier set on the
    same core) vote again and only the missing ones are asked for, sampled with new seeds.
    Raises `Invalid` for bad input; a failing core raises what the chat model raised.
    """
    validate(question, mode, candidates)
    slots = sandbox_slots or asyncio.Semaphore(2)
    messages = [*PROMPTS[mode].format_messages(question=question.strip()), *follow_up]
    every = list(prior)
    decision = prior_decision
    if not every:
        first, decision = await _candidate(model, messages, 0, mode, max_tokens, slots, core)
        every.append(first)
    wanted = candidates if candidates is not None else int((decision or {}).get("candidates", 1))
    wanted = max(1, min(wanted, MAX_CANDIDATES))
    others = await asyncio.gather(
        *(
            _candidate(model, messages, i, mode, max_tokens, slots, core)
            for i in range(len(every), wanted)
        )
    )
    every += [candidate for candidate, _ in others]
    result = vote([c.answer for c in every])
    chosen = next((c for c in every if c.answer == result.answer), every[0])
    return WordSolution(
        question=question,
        mode=mode,
        answer=result.answer,
        votes=result.counts,
        candidates=every,
        explanation=explain(chosen),
        decision=decision,
    )
