"""Routes of the support service, mounted at `/v1/support`: ask, conversations, escalation,
tickets, the graph schema and the resolution rate. Routes stay thin: validate, call, map errors."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from twincore.platform.gateway.deps import ApiError
from twincore.platform.graph.store import GraphError
from twincore.services.support.conversations import SupportRecordError
from twincore.services.support.hosted import GraphNotLoadedError, NotFoundError

# The statuses of models.TICKET_STATUSES (a test keeps the two equal), typed for the OpenAPI docs.
TicketStatus = Literal["open", "in_progress", "closed"]


class AskRequest(BaseModel):
    """A customer's question, optionally continuing a conversation."""

    question: str = Field(..., min_length=1, max_length=2000)
    conversation_id: int | None = Field(None, ge=1, description="continue this conversation")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value


class TicketStatusRequest(BaseModel):
    status: TicketStatus


async def _call(result: Awaitable[Any]) -> Any:
    """Await a service call; its domain errors become 4xx/5xx (across Ray they arrive wrapped)."""
    try:
        return await result
    except Exception as raised:
        error = getattr(raised, "cause", None) or raised
        if isinstance(error, NotFoundError):
            raise ApiError(404, str(error), "not_found_error") from raised
        if isinstance(error, SupportRecordError):
            raise ApiError(422, str(error), "invalid_request_error") from raised
        if isinstance(error, GraphNotLoadedError):
            raise ApiError(409, str(error), "conflict_error") from raised
        if isinstance(error, GraphError):
            message = f"the knowledge graph is unavailable: {error}"
            raise ApiError(503, message, "service_unavailable") from raised
        raise


def build_api(service: Any) -> APIRouter:
    """The routes over a service client (in-process or a Ray handle; every call is awaited)."""
    api = APIRouter(tags=["support"])

    @api.post("/ask")
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer from the graph with citations and the Cypher that ran; unresolved -> ticket."""
        result: dict[str, Any] = await _call(service.ask(body.question, body.conversation_id))
        return result

    @api.get("/conversations")
    async def conversations(limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await _call(service.conversations(limit=limit))
        return result

    @api.get("/conversations/{conversation_id}")
    async def conversation(conversation_id: int) -> dict[str, Any]:
        result: dict[str, Any] = await _call(service.conversation(conversation_id))
        return result

    @api.post("/conversations/{conversation_id}/not-solved")
    async def not_solved(conversation_id: int) -> dict[str, Any]:
        """The user says the answer did not help: a ticket opens with the transcript."""
        result: dict[str, Any] = await _call(service.not_solved(conversation_id))
        return result

    @api.get("/tickets")
    async def tickets(
        status: TicketStatus | None = None, limit: int = Query(100, ge=1, le=1000)
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await _call(service.tickets(status=status, limit=limit))
        return result

    @api.patch("/tickets/{ticket_id}")
    async def set_status(ticket_id: int, body: TicketStatusRequest) -> dict[str, Any]:
        result: dict[str, Any] = await _call(service.set_ticket_status(ticket_id, body.status))
        return result

    @api.get("/schema")
    async def schema() -> dict[str, Any]:
        """Labels with property types, relationship types with their endpoints."""
        result: dict[str, Any] = await _call(service.schema())
        return result

    @api.get("/stats")
    async def stats() -> dict[str, Any]:
        """Resolution rate (resolved conversations / all) and ticket counts by status."""
        result: dict[str, Any] = await _call(service.stats())
        return result

    return api
