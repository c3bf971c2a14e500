"""Key routes on the API itself: a client revokes the key it holds (leaked, retired) at once,
through whichever replica it reaches; every replica refuses the key on its next request."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from twincore.platform.auth import revoke_api_key
from twincore.platform.db import session_scope
from twincore.platform.gateway.deps import ApiError, Caller, State

router = APIRouter(prefix="/v1/keys", tags=["operations"])


@router.post(
    "/revoke",
    responses={400: {"description": "the request carried no registered key (dev loopback)"}},
)
async def revoke_current_key(caller: Caller, state: State) -> dict[str, Any]:
    """Revoke the API key this request was sent with; it is refused from the next request on."""
    key_id = caller.key_id
    if key_id is None:
        raise ApiError(400, "this request carries no registered API key", "invalid_request_error")

    def revoke() -> None:
        with session_scope(state.auth.sessions) as session:
            revoke_api_key(session, key_id=key_id)

    await asyncio.to_thread(revoke)
    return {"key_id": key_id, "name": caller.name, "revoked": True}
