"""Who is calling: API keys checked against their stored hashes, loopback clients in dev mode.

Verified tokens are remembered for `cache_ttl_s` so a busy key costs one database lookup per
period, not one per request; a revoked key is therefore refused within that period.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.auth import verify_api_key
from twincore.platform.db import session_scope


@dataclass(frozen=True)
class Principal:
    """The caller of one request; `bucket` names its rate limit."""

    key_id: int | None
    name: str
    bucket: str


class AuthError(Exception):
    """401: no valid key where one is needed."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Authenticator:
    """Turns a bearer token and the client's address into a Principal, or refuses."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secret_key: bytes,
        *,
        require_key: bool,
        cache_ttl_s: float = 30.0,
    ) -> None:
        self._sessions, self._secret_key = sessions, secret_key
        self.require_key = require_key
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    async def authenticate(self, token: str | None, client_host: str | None) -> Principal:
        key = await self._lookup(token) if token else None
        if key is not None:
            return key
        if not self.require_key and is_loopback(client_host):
            # Dev mode: local clients need no registered key (the openai client sends some token
            # anyway); they share one rate-limit bucket per address.
            return Principal(None, "dev-loopback", f"loopback:{client_host}")
        if not token:
            raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
        raise AuthError("unknown or revoked API key")

    async def _lookup(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        principal = await asyncio.to_thread(self._verify, token)
        self._cache[digest] = (principal, time.monotonic() + self.cache_ttl_s)
        return principal

    def _verify(self, token: str) -> Principal | None:
        with session_scope(self._sessions) as session:
            key = verify_api_key(session, token=token, secret_key=self._secret_key)
            return None if key is None else Principal(key.id, key.name, f"key:{key.id}")
