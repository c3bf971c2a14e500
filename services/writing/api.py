"""Routes of the writing service, mounted at `/v1/writing`: styles, compose, rewrite, drafts,
ratings."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from twincore.platform.chat_transport import TwincoreError
from twincore.platform.gateway.deps import ApiError
from twincore.services.writing.generate import MAX_CANDIDATES

MAX_TEXT = 8_000
T = TypeVar("T")


class WriteRequest(BaseModel):
    """What to write and how hard to try."""

    style: str = Field(..., min_length=1, max_length=32, description="a style id (GET /styles)")
    model: Literal["auto", "deep", "swift"] = "auto"
    candidates: int | None = Field(
        None, ge=1, le=MAX_CANDIDATES, description="best-of-n; None: the router's budget"
    )
    guided: bool = Field(True, description="False: the first text as written, no selection")
    revise: bool = Field(True, description="one revise turn naming the failed constraints")
    max_tokens: int = Field(256, ge=16, le=2048)


class ComposeRequest(WriteRequest):
    topic: str = Field(..., min_length=1, max_length=MAX_TEXT)


class RewriteRequest(WriteRequest):
    text: str = Field(..., min_length=1, max_length=MAX_TEXT, description="the source text")


class RatingRequest(BaseModel):
    stars: int = Field(..., ge=1, le=5, strict=True)
    comment: str = Field("", max_length=2000)


async def _call(call: Awaitable[T]) -> T:
    """Await a service call, mapping its errors to API errors with their messages."""
    try:
        return await call
    except KeyError as error:
        raise ApiError(404, str(error.args[0]), "not_found_error") from error
    except LookupError as error:
        raise ApiError(404, str(error), "not_found_error") from error
    except ValueError as error:
        raise ApiError(422, str(error), "invalid_request_error") from error
    except TwincoreError as error:
        status = error.status if error.status >= 400 else 502
        raise ApiError(status, error.message, "service_unavailable") from error


def build_api(service: Any) -> APIRouter:
    """The routes over a service client (in-process or a Ray handle; every call is awaited)."""
    api = APIRouter(tags=["writing"])

    @api.get("/styles")
    async def styles() -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await _call(service.styles())
        return result

    @api.get("/styles/{style_id}")
    async def style(style_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await _call(service.style(style_id))
        return result

    @api.post("/compose")
    async def compose(body: ComposeRequest) -> dict[str, Any]:
        fields = body.model_dump(exclude={"topic"})
        result: dict[str, Any] = await _call(
            service.write(mode="compose", prompt=body.topic, **fields)
        )
        return result

    @api.post("/rewrite")
    async def rewrite(body: RewriteRequest) -> dict[str, Any]:
        fields = body.model_dump(exclude={"text"})
        result: dict[str, Any] = await _call(
            service.write(mode="rewrite", prompt=body.text, **fields)
        )
        return result

    @api.get("/drafts")
    async def drafts(
        style: str | None = None, limit: int = Query(50, ge=1, le=500)
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await _call(service.drafts(style=style, limit=limit))
        return result

    @api.get("/drafts/{draft_id}")
    async def draft(draft_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await _call(service.draft(draft_id))
        return result

    @api.post("/drafts/{draft_id}/ratings")
    async def rate(draft_id: int, body: RatingRequest) -> dict[str, Any]:
        result: dict[str, Any] = await _call(service.rate(draft_id, body.stars, body.comment))
        return result

    @api.get("/ratings")
    async def ratings() -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = await _call(service.ratings())
        return result

    return api
