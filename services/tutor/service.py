"""The tutor service: the facade the API and the Gradio screen call.

`tree`, `problems`, `classify`, `solve`, `check`, `hint`, sessions with graded `attempt`s, and
`mastery` with the next recommended skill and problem are plain (blocking) code: the platform
runs them on a worker thread. `explain` (the core rewrites each step's reason in the student's
language, the maths unchanged) and `word_problem` (program-aided or direct, candidates voting)
ask the core and are coroutines; their checkers (`check_rewrite`; program ran, SymPy checks and
a majority) drive the router's escalation, and both answers carry it under `twincore`.
Errors are the platform's: `Invalid` for bad input (unreadable maths names the position),
`NotFound` for an unknown skill or session; a failing core raises the chat model's
`TwincoreError`, which the gateway maps.
"""

from __future__ import annotations

from typing import Any

from twincore.platform.chat_model import TwincoreChatModel
from twincore.platform.db.engine import create_db_engine, session_factory
from twincore.platform.errors import Invalid
from twincore.platform.router.router import RouterClient
from twincore.platform.router.setup import service_ladder
from twincore.platform.router.types import AUTO
from twincore.platform.settings import Settings
from twincore.services.tutor import store
from twincore.services.tutor.curriculum.knowledge import KnowledgeTree, default_tree
from twincore.services.tutor.curriculum.mastery import known, recommend, skill_state
from twincore.services.tutor.curriculum.practice import practice_problems
from twincore.services.tutor.solvers.base import WorkedStep
from twincore.services.tutor.solvers.dispatch import Solution
from twincore.services.tutor.steps.checker import StepResult, check_steps
from twincore.services.tutor.steps.explain import Language
from twincore.services.tutor.steps.explain_cascade import explain_checked
from twincore.services.tutor.steps.grading import Grade, checker_start, checker_steps, grade
from twincore.services.tutor.steps.hints import hint as graded_hint
from twincore.services.tutor.steps.reading import read_problem, read_steps
from twincore.services.tutor.word.cascade import solve_checked
from twincore.services.tutor.word.problems import Mode

SERVICE = "tutor"
HINTS = {"domain": "math"}
"""What the router is told about every request of the tutor: `auto` is routed and budgeted
(max tokens, candidates) as math."""


def step_dict(step: WorkedStep) -> dict[str, Any]:
    return {
        "math": step.text(),
        "latex": step.latex(),
        "reason": step.reason,
        "verified": step.verified,
        "domain_change": step.domain_change,
    }


def _not_step_checked(problem: str, error: ValueError) -> Invalid:
    # The checker reads one-variable equations, inequalities and expressions; systems and the
    # like are solved with steps but cannot be checked step by step.
    return Invalid(f"{problem.strip()!r} cannot be checked step by step: {error}", param="problem")


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
        self.model = TwincoreChatModel.for_service(router, SERVICE, HINTS)
        self.ladder = service_ladder(settings, SERVICE)
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
            "answer_latex": solution.steps[-1].latex(),
            "all_verified": solution.all_verified,
        }

    async def explain(
        self, problem: str, language: Language = "en", model: str = AUTO
    ) -> dict[str, Any]:
        """The worked solution with each reason rewritten by the core in `language`; the maths
        is the solver's, and a rewrite that fails the check is asked for again up the tutor's
        ladder, else keeps the solver's reason. Every attempt is under `twincore`."""
        view = self.solve(problem)
        steps = read_problem(problem).steps
        checked = await explain_checked(steps, language, self.model, self.ladder, requested=model)
        for step, reason in zip(view["steps"], checked.reasons, strict=True):
            step["friendly_reason"] = reason.text
            step["reason_source"] = reason.source
            step["rewrite_rejected"] = reason.rejected
        view["language"] = language
        view["twincore"] = checked.escalation.as_dict()
        return view

    async def word_problem(
        self,
        question: str,
        mode: Mode = "pal",
        candidates: int | None = None,
        model: str = AUTO,
    ) -> dict[str, Any]:
        """A word problem answered by the core: programs run in the sandbox (or prose, in
        direct mode), candidates voting; `candidates=None` takes the router's budget. The
        checker (program ran, SymPy checks, a majority agrees) decides whether the answer
        stands; a rejected one climbs the tutor's ladder (more candidates, then deep). The
        result carries every attempt under `twincore`; `model` pins a core."""
        checked = await solve_checked(
            question, self.model, self.ladder, requested=model, candidates=candidates, mode=mode
        )
        return checked.as_dict()

    def _grade(self, problem: str, steps: list[str]) -> tuple[Solution, list[str], Grade]:
        solution = read_problem(problem)
        cleaned = read_steps(steps)
        if not cleaned:
            raise Invalid("give at least one step", param="steps")
        try:
            return solution, cleaned, grade(problem.strip(), cleaned, solution)
        except ValueError as exc:
            raise _not_step_checked(problem, exc) from exc

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
            raise Invalid(
                "hint level must be 1 (nudge), 2 (method) or 3 (next step)", param="level"
            )
        solution = read_problem(problem)
        cleaned = read_steps(steps)
        start = checker_start(problem.strip(), solution)
        try:
            report = check_steps(start, checker_steps(cleaned))
        except ValueError as exc:
            raise _not_step_checked(problem, exc) from exc
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
        self,
        session_id: int,
        problem: str,
        steps: list[str],
        hints_used: int = 0,
        solution_seen: bool = False,
    ) -> dict[str, Any]:
        """Grade the student's steps, store the attempt and update mastery of its skills.

        `solution_seen`: the student saw the worked solution of this problem before the
        attempt. Such an attempt counts as a failed one (see `store.record_attempt`)."""
        store.get_session(self.sessions, session_id)  # a missing session: NotFound before grading
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
            solution_seen=solution_seen,
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
                    "topic_name": self.tree.topics[skill.topic].name,
                    "p_known": round(known(self.tree, values, skill.id), 4),
                    "attempts": row["attempts"],
                    "correct": row["correct"],
                    "state": skill_state(self.tree, values, skill),
                    "updated_at": row.get("updated_at"),
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
