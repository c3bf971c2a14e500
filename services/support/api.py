"""Routes of the support service, mounted at `/v1/support`: ask, conversations, escalation,
tickets, the graph schema and the resolution rate. Routes stay thin: validate and call; the
service raises the platform's errors and the gateway maps them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from twincore.platform.gateway.schemas import RowId

# The statuses of models.TICKET_STATUSES (a test keeps the two equal), typed for the OpenAPI docs.
TicketStatus = Literal["open", "in_progress", "closed"]


class AskRequest(BaseModel):
    """A customer's question, optionally continuing a conversation."""

    question: str = Field(..., min_length=1, max_length=2000)
    conversation_id: RowId | None = Field(None, description="continue this conversation")
    model: Literal["auto", "swift", "deep"] = Field(
        "auto", description="the core that writes queries; auto may escalate to the other core"
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value


class TicketStatusRequest(BaseModel):
    status: TicketStatus


def build_api(service: Any) -> APIRouter:
    """The routes over a service client (in-process or a Ray handle; every call is awaited)."""
    api = APIRouter(tags=["support"])

    @api.post("/ask")
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer from the graph with citations, the Cypher that ran and the `twincore` block
        (every attempt with the checker's verdict); unresolved -> ticket."""
        result: dict[str, Any] = await service.ask(body.question, body.conversation_id, body.model)
        return result

    @api.get("/conversations")
    async def conversations(limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await service.conversations(limit=limit)
        return result

    @api.get("/conversations/{conversation_id}")
    async def conversation(conversation_id: RowId) -> dict[str, Any]:
        result: dict[str, Any] = await service.conversation(conversation_id)
        return result

    @api.post("/conversations/{conversation_id}/not-solved")
    async def not_solved(conversation_id: RowId) -> dict[str, Any]:
        """The user says the answer did not help: a ticket opens with the transcript."""
        result: dict[str, Any] = await service.not_solved(conversation_id)
        return result

    @api.post("/conversations/{conversation_id}/solved")
    async def solved(conversation_id: RowId) -> dict[str, Any]:
        """The user confirms the answer solved it: only now (or when the checker verified the
        query) does the conversation count as resolved."""
        result: dict[str, Any] = await service.solved(conversation_id)
        return result

    @api.get("/tickets")
    async def tickets(
        status: TicketStatus | None = None, limit: int = Query(100, ge=1, le=1000)
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await service.tickets(status=status, limit=limit)
        return result

    @api.patch("/tickets/{ticket_id}")
    async def set_status(ticket_id: RowId, body: TicketStatusRequest) -> dict[str, Any]:
        result: dict[str, Any] = await service.set_ticket_status(ticket_id, body.status)
        return result

    @api.get("/schema")
    async def schema() -> dict[str, Any]:
        """Labels with property types, relationship types with their endpoints."""
        result: dict[str, Any] = await service.schema()
        return result

    @api.get("/stats")
    async def stats() -> dict[str, Any]:
        """Resolution rate (resolved conversations / all; resolved = the checker verified the
        query or the user confirmed) and ticket counts by status."""
        result: dict[str, Any] = await service.stats()
        return result

    return api
