"""Routes of the writing service, mounted at `/v1/writing`: styles, compose, rewrite, drafts,
ratings. The service raises the platform's error family; the gateway maps it to a status."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from twincore.platform.gateway.schemas import RowId
from twincore.services.writing.api_stream import stream_response
from twincore.services.writing.generate.drafts import Mode
from twincore.services.writing.generate.run import MAX_CANDIDATES

MAX_TEXT = 8_000


class WriteRequest(BaseModel):
    """What to write and how hard to try."""

    style: str = Field(..., min_length=1, max_length=32, description="a style id (GET /styles)")
    model: Literal["auto", "deep", "swift"] = "auto"
    candidates: int | None = Field(
        None, ge=1, le=MAX_CANDIDATES, description="best-of-n; None: the router's budget"
    )
    guided: bool = Field(True, description="False: the first text as written, no selection")
    revise: bool = Field(
        True, description="allow the repair rung: a revision naming the failed constraints"
    )
    max_tokens: int = Field(256, ge=16, le=2048)
    seed: int | None = Field(
        None, ge=0, le=1_000_000, description="sample every candidate from this seed (try again)"
    )
    stream: bool = Field(
        False, description="server-sent events: start, token, draft (checked), then result"
    )


class ComposeRequest(WriteRequest):
    topic: str = Field(..., min_length=1, max_length=MAX_TEXT)


class RewriteRequest(WriteRequest):
    text: str = Field(..., min_length=1, max_length=MAX_TEXT, description="the source text")


class RatingRequest(BaseModel):
    stars: int = Field(..., ge=1, le=5, strict=True)
    comment: str = Field("", max_length=2000)


def build_api(service: Any) -> APIRouter:
    """The routes over a service client (in-process or a Ray handle; every call is awaited)."""
    api = APIRouter(tags=["writing"])

    @api.get("/styles")
    async def styles() -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await service.styles()
        return result

    @api.get("/styles/{style_id}")
    async def style(style_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await service.style(style_id)
        return result

    async def write(mode: Mode, prompt: str, body: WriteRequest) -> Any:
        fields = body.model_dump(exclude={"topic", "text", "stream"})
        if not body.stream:
            return await service.write(mode=mode, prompt=prompt, **fields)
        events = service.stream_call("write_events", mode=mode, prompt=prompt, **fields)
        # The first event comes after validation: bad input is still answered with a 4xx.
        first = await anext(events)
        return stream_response(first, events)

    @api.post("/compose", response_model=None)
    async def compose(body: ComposeRequest) -> dict[str, Any] | StreamingResponse:
        """Write on a topic in a style; `stream: true` answers with server-sent events."""
        result: dict[str, Any] | StreamingResponse = await write("compose", body.topic, body)
        return result

    @api.post("/rewrite", response_model=None)
    async def rewrite(body: RewriteRequest) -> dict[str, Any] | StreamingResponse:
        """Rewrite a text in a style, keeping its content; `stream: true` as for compose."""
        result: dict[str, Any] | StreamingResponse = await write("rewrite", body.text, body)
        return result

    @api.get("/drafts")
    async def drafts(
        style: str | None = None, limit: int = Query(50, ge=1, le=500)
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await service.drafts(style=style, limit=limit)
        return result

    @api.get("/drafts/{draft_id}")
    async def draft(draft_id: RowId) -> dict[str, Any]:
        result: dict[str, Any] = await service.draft(draft_id)
        return result

    @api.post("/drafts/{draft_id}/ratings")
    async def rate(draft_id: RowId, body: RatingRequest) -> dict[str, Any]:
        result: dict[str, Any] = await service.rate(draft_id, body.stars, body.comment)
        return result

    @api.get("/ratings")
    async def ratings() -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = await service.ratings()
        return result

    return api
