"""Routes of the tutor, mounted at `/v1/tutor`: tree, problems, solve, explain (friendly reasons
by the core), word problems, check, hint, sessions with attempts, and mastery with the
recommended next problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, model_validator

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.gateway.deps import ApiError
from twincore.services.tutor.practice import MAX_COUNT
from twincore.services.tutor.service import MAX_STEPS, MAX_TEXT
from twincore.services.tutor.word_problems import MAX_CANDIDATES, MAX_QUESTION_CHARS

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


class WordRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    mode: Literal["pal", "direct"] = Field("pal", description="program-aided, or prose")
    candidates: int | None = Field(
        None, ge=1, le=MAX_CANDIDATES, description="None: the router's budget"
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


async def _call(call: Callable[[], Awaitable[Any]]) -> Any:
    """Await a service call, turning its errors into 4xx answers with the message."""
    try:
        return await call()
    except KeyError as error:  # unknown skill (a LookupError too, so first)
        raise ApiError(404, str(error.args[0]), "not_found_error") from error
    except LookupError as error:
        raise ApiError(404, str(error), "not_found_error") from error
    except ValueError as error:
        raise ApiError(422, str(error), "invalid_request_error") from error
    except TwincoreError as error:  # the core failed or is unreachable
        status = error.status if error.status >= 400 else 502
        raise ApiError(status, error.message, "service_unavailable") from error


def build_api(service: Any) -> APIRouter:
    """The routes over a service client (in-process or a Ray handle; every call is awaited)."""
    api = APIRouter(tags=["tutor"])

    @api.get("/tree")
    async def tree(student: Annotated[str | None, Query(max_length=64)] = None) -> Any:
        return await _call(lambda: service.tree_view(student))

    @api.get("/problems")
    async def problems(
        skill: Annotated[str, Query(min_length=1, max_length=64)],
        seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
        count: Annotated[int, Query(ge=1, le=MAX_COUNT)] = 1,
    ) -> Any:
        return await _call(lambda: service.problems(skill, seed, count))

    @api.post("/problems")
    async def make_problems(body: ProblemsRequest) -> Any:
        if body.text is not None:
            return [await _call(lambda: service.classify(body.text))]
        return await _call(lambda: service.problems(body.skill, body.seed, body.count))

    @api.post("/solve")
    async def solve(body: SolveRequest) -> Any:
        return await _call(lambda: service.solve(body.problem))

    @api.post("/explain")
    async def explain(body: ExplainRequest) -> Any:
        return await _call(lambda: service.explain(body.problem, body.language))

    @api.post("/word")
    async def word(body: WordRequest) -> Any:
        return await _call(lambda: service.word_problem(body.question, body.mode, body.candidates))

    @api.post("/check")
    async def check(body: CheckRequest) -> Any:
        return await _call(lambda: service.check(body.problem, body.steps))

    @api.post("/hint")
    async def hint(body: HintRequest) -> Any:
        return await _call(lambda: service.hint(body.problem, body.steps, body.level))

    @api.post("/sessions")
    async def create_session(body: SessionRequest) -> Any:
        return await _call(lambda: service.create_session(body.student, body.skill))

    @api.get("/sessions")
    async def list_sessions(
        student: Annotated[str, Query(min_length=1, max_length=64)],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Any:
        return await _call(lambda: service.list_sessions(student, limit))

    @api.get("/sessions/{session_id}")
    async def get_session(session_id: int) -> Any:
        return await _call(lambda: service.get_session(session_id))

    @api.post("/sessions/{session_id}/attempts")
    async def attempt(session_id: int, body: AttemptRequest) -> Any:
        return await _call(
            lambda: service.attempt(session_id, body.problem, body.steps, body.hints_used)
        )

    @api.get("/mastery/{student}")
    async def mastery(student: Student) -> Any:
        return await _call(lambda: service.mastery(student))

    @api.get("/mastery/{student}/next")
    async def next_problem(student: Student) -> Any:
        return await _call(lambda: service.recommendation(student))

    return api
