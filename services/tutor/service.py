"""The tutor service: the facade the API and the Gradio screen call.

`tree`, `problems`, `classify`, `solve`, `check`, `hint`, sessions with graded `attempt`s, and
`mastery` with the next recommended skill and problem are plain (blocking) code: the platform
runs them on a worker thread. `explain` (the core rewrites each step's reason in the student's
language, the maths unchanged) and `word_problem` (program-aided or direct, candidates voting)
ask the core and are coroutines. Errors: `ValueError` for bad input (unreadable maths names the
position), `KeyError` for an unknown skill, `LookupError` for a missing session; a failing core
raises the chat model's `TwincoreError`.
"""

from __future__ import annotations

import re
from tokenize import TokenError
from typing import Any

import sympy  # type: ignore[import-untyped]

from twincore.platform.db.engine import create_db_engine, session_factory
from twincore.platform.router.router import RouterClient
from twincore.platform.settings import Settings
from twincore.services.tutor import store
from twincore.services.tutor.checker import StepResult, check_steps
from twincore.services.tutor.explain import Language, friendly_reasons_detailed
from twincore.services.tutor.grading import Grade, checker_start, checker_steps, grade
from twincore.services.tutor.hints import hint as graded_hint
from twincore.services.tutor.knowledge import KnowledgeTree, default_tree
from twincore.services.tutor.llm import tutor_chat_model
from twincore.services.tutor.mastery import known, recommend, skill_state
from twincore.services.tutor.parsing import parse_step
from twincore.services.tutor.positions import describe
from twincore.services.tutor.practice import practice_problems
from twincore.services.tutor.solvers.base import WorkedStep
from twincore.services.tutor.solvers.dispatch import Solution
from twincore.services.tutor.solvers.dispatch import solve as solve_problem
from twincore.services.tutor.word_problems import Mode, solve_word_problem

MAX_TEXT = 300
MAX_STEPS = 40
# SymPy cannot be interrupted on a worker thread: refuse inputs that make it work for minutes.
_HUGE_POWER = re.compile(r"(\^|\*\*)\s*\(?\s*-?\d{3,}")


def _guard(text: str, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    if _HUGE_POWER.search(text):
        raise ValueError(f"{what}: exponents above 99 are not supported")
    return text.strip()


def read_problem(text: str) -> Solution:
    """The verified worked solution of a problem, or `ValueError` saying why there is none."""
    text = _guard(text, "the problem")
    try:
        return solve_problem(text)
    except (ValueError, TypeError, SyntaxError, TokenError, sympy.SympifyError) as exc:
        raise ValueError(describe(text, str(exc) or type(exc).__name__)) from exc
    except NotImplementedError as exc:
        raise ValueError(f"{text!r}: SymPy cannot solve this kind of problem ({exc})") from exc


def _read_steps(steps: list[str]) -> list[str]:
    if len(steps) > MAX_STEPS:
        raise ValueError(f"at most {MAX_STEPS} steps")
    cleaned = [_guard(step, f"step {n}") for n, step in enumerate(steps, start=1)]
    for n, (step, readable) in enumerate(zip(cleaned, checker_steps(cleaned), strict=True), 1):
        try:
            parse_step(readable)
        except (ValueError, TypeError, SyntaxError, TokenError, sympy.SympifyError) as exc:
            raise ValueError(f"step {n}: {describe(step, str(exc) or 'unreadable')}") from exc
    return cleaned


def step_dict(step: WorkedStep) -> dict[str, Any]:
    return {
        "math": step.text(),
        "reason": step.reason,
        "verified": step.verified,
        "domain_change": step.domain_change,
    }


def _result_dict(result: StepResult, steps: list[str]) -> dict[str, Any]:
    # The student's own text, not the checker's rewritten `Limit(...)` form.
    return {
        "index": result.index,
        "text": steps[result.index],
        "kind": result.verdict.value,
        "reason": result.reason,
    }


class TutorService:
    """Solves, checks and hints with the verified solvers; sessions and mastery live in SQL."""

    def __init__(
        self, router: RouterClient, settings: Settings, tree: KnowledgeTree | None = None
    ) -> None:
        self.router = router
        self.model = tutor_chat_model(router)
        self.tree = tree or default_tree()
        self.engine = create_db_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        # The tree is copied into SQL on first use (here, at start), not by the migration, so a
        # changed data file takes effect on restart without a new migration.
        store.sync_tree(self.sessions, self.tree)

    def tree_view(self, student: str | None = None) -> dict[str, Any]:
        """The stored tree; with a student, each skill's P(known) and state too."""
        view = store.stored_tree(self.sessions)
        if student is None:
            return view
        mastery = {k: v["p_known"] for k, v in store.mastery_rows(self.sessions, student).items()}
        for subject in view["subjects"]:
            for topic in subject["topics"]:
                for skill in topic["skills"]:
                    if skill["id"] in self.tree.skills:
                        tree_skill = self.tree.skills[skill["id"]]
                        skill["p_known"] = round(known(self.tree, mastery, skill["id"]), 4)
                        skill["state"] = skill_state(self.tree, mastery, tree_skill)
        return view

    def problems(self, skill: str, seed: int = 0, count: int = 1) -> list[dict[str, Any]]:
        """`count` generated practice problems for a skill (the same for the same seed)."""
        return [
            {"text": p.text, "kind": p.kind, "skills": list(p.skills)}
            for p in practice_problems(self.tree, skill, seed=seed, count=count)
        ]

    def classify(self, text: str) -> dict[str, Any]:
        """A typed problem's kind and skills."""
        solution = read_problem(text)
        return {"text": text.strip(), "kind": solution.kind, "skills": self._skills(solution, text)}

    def _skills(self, solution: Solution, text: str) -> list[str]:
        return list(self.tree.tag(solution, text.strip()))

    def solve(self, problem: str) -> dict[str, Any]:
        """The worked solution: each step's maths, reason and verified flag."""
        solution = read_problem(problem)
        return {
            "problem": problem.strip(),
            "kind": solution.kind,
            "skills": self._skills(solution, problem),
            "steps": [step_dict(step) for step in solution.steps],
            "answer": solution.answer,
            "all_verified": solution.all_verified,
        }

    async def explain(self, problem: str, language: Language = "en") -> dict[str, Any]:
        """The worked solution with each reason rewritten by the core in `language`; the maths
        is the solver's, and a rewrite that fails the check keeps the solver's reason."""
        view = self.solve(problem)
        steps = read_problem(problem).steps
        reasons = await friendly_reasons_detailed(steps, language, self.model)
        for step, reason in zip(view["steps"], reasons, strict=True):
            step["friendly_reason"] = reason.text
            step["reason_source"] = reason.source
            step["rewrite_rejected"] = reason.rejected
        view["language"] = language
        return view

    async def word_problem(
        self, question: str, mode: Mode = "pal", candidates: int | None = None
    ) -> dict[str, Any]:
        """A word problem answered by the core: programs run in the sandbox (or prose, in
        direct mode), candidates voting; `candidates=None` takes the router's budget."""
        solution = await solve_word_problem(question, self.model, candidates=candidates, mode=mode)
        return solution.as_dict()

    def _grade(self, problem: str, steps: list[str]) -> tuple[Solution, list[str], Grade]:
        solution = read_problem(problem)
        cleaned = _read_steps(steps)
        if not cleaned:
            raise ValueError("give at least one step")
        try:
            return solution, cleaned, grade(problem.strip(), cleaned, solution)
        except ValueError as exc:
            raise ValueError(f"{problem.strip()!r} cannot be checked step by step: {exc}") from exc

    def check(self, problem: str, steps: list[str]) -> dict[str, Any]:
        """The verdict on each step up to the first wrong one, and whether the work is done."""
        solution, cleaned, graded = self._grade(problem, steps)
        wrong = graded.first_wrong
        return {
            "problem": problem.strip(),
            "kind": solution.kind,
            "steps": [_result_dict(r, cleaned) for r in graded.report.steps],
            "first_wrong": _result_dict(wrong, cleaned) if wrong else None,
            "complete": graded.complete,
            "correct": graded.correct,
        }

    def hint(self, problem: str, steps: list[str], level: int) -> dict[str, Any]:
        """A graded hint for the work so far: 1 nudge, 2 method, 3 the next step."""
        if level not in (1, 2, 3):
            raise ValueError("hint level must be 1 (nudge), 2 (method) or 3 (next step)")
        solution = read_problem(problem)
        cleaned = _read_steps(steps)
        start = checker_start(problem.strip(), solution)
        try:
            report = check_steps(start, checker_steps(cleaned))
        except ValueError as exc:
            raise ValueError(f"{problem.strip()!r} cannot be checked step by step: {exc}") from exc
        wrong = report.first_wrong
        return {
            "level": level,
            "hint": graded_hint(problem.strip(), cleaned, level, report=report),
            "first_wrong": _result_dict(wrong, cleaned) if wrong else None,
        }

    def create_session(self, student: str, skill: str | None = None) -> dict[str, Any]:
        return store.create_session(self.sessions, student, skill)

    def get_session(self, session_id: int) -> dict[str, Any]:
        return store.get_session(self.sessions, session_id)

    def list_sessions(self, student: str, limit: int = 50) -> list[dict[str, Any]]:
        return store.list_sessions(self.sessions, student, limit)

    def attempt(
        self, session_id: int, problem: str, steps: list[str], hints_used: int = 0
    ) -> dict[str, Any]:
        """Grade the student's steps, store the attempt and update mastery of its skills."""
        store.get_session(self.sessions, session_id)  # a missing session is a 404 before grading
        solution, cleaned, graded = self._grade(problem, steps)
        wrong = graded.first_wrong
        return store.record_attempt(
            self.sessions,
            self.tree,
            session_id,
            problem=problem.strip(),
            kind=solution.kind,
            skills=self._skills(solution, problem),
            steps=cleaned,
            correct=graded.correct,
            complete=graded.complete,
            first_wrong=_result_dict(wrong, cleaned) if wrong else None,
            hints_used=hints_used,
        )

    def mastery(self, student: str) -> dict[str, Any]:
        """P(known), attempts and state of every skill for a student, and what to do next."""
        rows = store.mastery_rows(self.sessions, student)
        values = {k: v["p_known"] for k, v in rows.items()}
        skills = []
        for skill in self.tree.skills.values():
            row = rows.get(skill.id, {"attempts": 0, "correct": 0})
            skills.append(
                {
                    "id": skill.id,
                    "name": skill.name,
                    "topic": skill.topic,
                    "p_known": round(known(self.tree, values, skill.id), 4),
                    "attempts": row["attempts"],
                    "correct": row["correct"],
                    "state": skill_state(self.tree, values, skill),
                }
            )
        return {
            "student": student,
            "thresholds": {"unlock": self.tree.unlock, "mastered": self.tree.mastered},
            "skills": skills,
            "recommendation": self.recommendation(student),
        }

    def recommendation(self, student: str) -> dict[str, Any]:
        """The next skill (first open, unmastered one in curriculum order) and a problem for it,
        seeded by the student's attempt count so each attempt brings a new problem."""
        rows = store.mastery_rows(self.sessions, student)
        chosen = recommend(self.tree, {k: v["p_known"] for k, v in rows.items()})
        if chosen.skill is None:
            return {"skill": None, "reason": chosen.reason, "problem": None}
        seed = store.attempt_count(self.sessions, student)
        (problem,) = self.problems(chosen.skill.id, seed=seed)
        return {
            "skill": {"id": chosen.skill.id, "name": chosen.skill.name},
            "reason": chosen.reason,
            "problem": problem,
        }
