"""Routes of the tutor, mounted at `/v1/tutor`: tree, problems, solve, explain (friendly reasons
by the core), word problems, check, hint, sessions with attempts, and mastery with the
recommended next problem."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, model_validator

from twincore.platform.gateway.schemas import RowId
from twincore.services.tutor.curriculum.practice import MAX_COUNT
from twincore.services.tutor.steps.reading import MAX_STEPS, MAX_TEXT
from twincore.services.tutor.word.problems import MAX_CANDIDATES, MAX_QUESTION_CHARS

Student = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Steps = Annotated[
    list[Annotated[str, Field(max_length=MAX_TEXT)]],
    Field(max_length=MAX_STEPS, description="the student's steps after the problem, in order"),
]
ProblemText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="`3x + 7 = 22`, `x^2 - 5x + 6 = 0`, `d/dx (x^2 sin(x))`, ...",
    ),
]


class ProblemsRequest(BaseModel):
    """Generate practice problems for a skill, or classify a typed problem (exactly one)."""

    skill: str | None = Field(None, max_length=64)
    text: str | None = Field(None, max_length=MAX_TEXT)
    seed: int = Field(0, ge=0, le=2**31)
    count: int = Field(1, ge=1, le=MAX_COUNT)

    @model_validator(mode="after")
    def _one_of(self) -> ProblemsRequest:
        if (self.skill is None) == (self.text is None):
            raise ValueError("give either `skill` (generate) or `text` (classify), not both")
        return self


class SolveRequest(BaseModel):
    problem: ProblemText


class ExplainRequest(BaseModel):
    problem: ProblemText
    language: Literal["en", "zh"] = "en"
    model: Literal["auto", "deep", "swift"] = "auto"


class WordRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    mode: Literal["pal", "direct"] = Field("pal", description="program-aided, or prose")
    candidates: int | None = Field(
        None, ge=1, le=MAX_CANDIDATES, description="None: the router's budget"
    )
    model: Literal["auto", "deep", "swift"] = Field(
        "auto", description="auto: the router picks the core and may escalate; a core pins it"
    )


class CheckRequest(BaseModel):
    problem: ProblemText
    steps: Steps = Field(..., min_length=1)


class HintRequest(BaseModel):
    problem: ProblemText
    steps: Steps = []
    level: int = Field(1, ge=1, le=3, description="1 nudge, 2 method, 3 the next step")


class SessionRequest(BaseModel):
    student: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    skill: str | None = Field(None, max_length=64)


class AttemptRequest(BaseModel):
    problem: ProblemText
    steps: Steps = Field(..., min_length=1)
    hints_used: int = Field(0, ge=0, le=100)
    solution_seen: bool = Field(
        False,
        description="the worked solution was shown before this attempt: it counts as failed",
    )


def build_api(service: Any) -> APIRouter:
    """The routes over a service client (in-process or a Ray handle; every call is awaited).
    No error mapping here: the service raises the platform's errors and the gateway maps them."""
    api = APIRouter(tags=["tutor"])

    @api.get("/tree")
    async def tree(student: Annotated[str | None, Query(max_length=64)] = None) -> Any:
        return await service.tree_view(student)

    @api.get("/problems")
    async def problems(
        skill: Annotated[str, Query(min_length=1, max_length=64)],
        seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
        count: Annotated[int, Query(ge=1, le=MAX_COUNT)] = 1,
    ) -> Any:
        return await service.problems(skill, seed, count)

    @api.post("/problems")
    async def make_problems(body: ProblemsRequest) -> Any:
        if body.text is not None:
            return [await service.classify(body.text)]
        return await service.problems(body.skill, body.seed, body.count)

    @api.post("/solve")
    async def solve(body: SolveRequest) -> Any:
        return await service.solve(body.problem)

    @api.post("/explain")
    async def explain(body: ExplainRequest) -> Any:
        return await service.explain(body.problem, body.language, body.model)

    @api.post("/word")
    async def word(body: WordRequest) -> Any:
        return await service.word_problem(body.question, body.mode, body.candidates, body.model)

    @api.post("/check")
    async def check(body: CheckRequest) -> Any:
        return await service.check(body.problem, body.steps)

    @api.post("/hint")
    async def hint(body: HintRequest) -> Any:
        return await service.hint(body.problem, body.steps, body.level)

    @api.post("/sessions")
    async def create_session(body: SessionRequest) -> Any:
        return await service.create_session(body.student, body.skill)

    @api.get("/sessions")
    async def list_sessions(
        student: Annotated[str, Query(min_length=1, max_length=64)],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Any:
        return await service.list_sessions(student, limit)

    @api.get("/sessions/{session_id}")
    async def get_session(session_id: RowId) -> Any:
        return await service.get_session(session_id)

    @api.post("/sessions/{session_id}/attempts")
    async def attempt(session_id: RowId, body: AttemptRequest) -> Any:
        return await service.attempt(
            session_id, body.problem, body.steps, body.hints_used, body.solution_seen
        )

    @api.get("/mastery/{student}")
    async def mastery(student: Student) -> Any:
        return await service.mastery(student)

    @api.get("/mastery/{student}/next")
    async def next_problem(student: Student) -> Any:
        return await service.recommendation(student)

    return api
