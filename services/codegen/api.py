"""Routes of the code generation service, mounted at `/v1/codegen`: generate, run, runs.

Thin: pydantic bodies in, the service's views out (a generated run carries `twincore`: every
round's core, verdict and reasons). The service raises the platform's errors
(`Invalid`, `NotFound`; a core's `TwincoreError` passes through) and the gateway maps them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from twincore.platform.gateway.schemas import RowId
from twincore.services.codegen.service import MAX_ROUNDS, MAX_SAMPLES

LanguageName = Literal["python", "java", "cpp"]
MAX_TEXT = 20_000


class GenerateRequest(BaseModel):
    """A task: a natural-language spec and/or a signature (code stub), optional tests."""

    language: LanguageName
    spec: str = Field("", max_length=MAX_TEXT, description="what the code must do")
    signature: str = Field("", max_length=MAX_TEXT, description="code to complete")
    tests: str = Field(
        "",
        max_length=MAX_TEXT,
        description="Python asserts after the code; Java `public class Main`; C++ `int main()`",
    )
    model: Literal["auto", "deep", "swift"] = "auto"
    samples: int | None = Field(
        None, ge=1, le=MAX_SAMPLES, description="candidates; None: the router's budget"
    )
    rounds: int = Field(
        2,
        ge=0,
        le=MAX_ROUNDS,
        description="repair rounds (the failing tests' output shown) before the other core",
    )
    max_tokens: int = Field(512, ge=16, le=4096)

    @model_validator(mode="after")
    def _something_to_write(self) -> GenerateRequest:
        if not self.spec.strip() and not self.signature.strip():
            raise ValueError("give a spec, a signature, or both")
        return self


class RunRequest(BaseModel):
    """Code to run in the sandbox, with optional tests and stdin."""

    language: LanguageName
    code: str = Field(..., min_length=1, max_length=100_000)
    tests: str = Field("", max_length=MAX_TEXT)
    stdin: str | None = Field(None, max_length=1_000_000)


def build_api(service: Any) -> APIRouter:
    """The routes over a service client (in-process or a Ray handle; every call is awaited)."""
    api = APIRouter(tags=["codegen"])

    @api.post("/generate")
    async def generate(body: GenerateRequest) -> dict[str, Any]:
        result: dict[str, Any] = await service.generate(**body.model_dump())
        return result

    @api.post("/run")
    async def run(body: RunRequest) -> dict[str, Any]:
        result: dict[str, Any] = await service.run(**body.model_dump())
        return result

    @api.get("/runs")
    async def runs(limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await service.runs(limit=limit)
        return result

    @api.get("/runs/{run_id}")
    async def get_run(run_id: RowId) -> dict[str, Any]:
        result: dict[str, Any] = await service.get(run_id)
        return result

    return api
