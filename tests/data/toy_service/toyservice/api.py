"""The toy service's routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel


class ShoutRequest(BaseModel):
    text: str


def build_api(service: Any) -> APIRouter:
    api = APIRouter(tags=["toy"])

    @api.get("/greet/{name}")
    async def greet(name: str) -> dict[str, str]:
        result: dict[str, str] = await service.greet(name)
        return result

    @api.post("/shout")
    async def shout(body: ShoutRequest) -> dict[str, str]:
        result: dict[str, str] = await service.shout(body.text)
        return result

    @api.post("/checked")
    async def checked(body: ShoutRequest) -> dict[str, Any]:
        result: dict[str, Any] = await service.checked(body.text)
        return result

    return api
