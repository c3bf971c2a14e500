"""Who is calling: API keys and browser sessions checked against the database, loopback clients
in dev mode.

A key's HMAC proof is remembered per replica (hashing is the costly part), but whether the key is
still active is read on every request: one primary-key read, so a key revoked anywhere (CLI,
another replica) is refused by every replica on its next request.

A browser session (the `/login` form) is a cookie `<key id>.<expiry>.<hmac>`: signed with the
secret key, it names a key without carrying it, and the same per-request read revokes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from twincore.platform.auth import active_key_name, verify_api_key
from twincore.platform.db import session_scope

SESSION_COOKIE = "twincore_session"
SESSION_TTL_S = 12 * 3600
# Proofs remembered per replica: bounded, so a flood of distinct keys cannot grow memory.
PROOF_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Principal:
    """The caller of one request; `bucket` names its rate limit."""

    key_id: int | None
    name: str
    bucket: str


class AuthError(Exception):
    """401: no valid key where one is needed. Messages never repeat the token."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _key_principal(key_id: int, name: str) -> Principal:
    return Principal(key_id, name, f"key:{key_id}")


class Authenticator:
    """Turns a bearer token or session cookie and the client's address into a Principal."""

    def __init__(
        self, sessions: sessionmaker[Session], secret_key: bytes, *, require_key: bool
    ) -> None:
        self._sessions, self._secret_key = sessions, secret_key
        self.require_key = require_key
        self._proofs: OrderedDict[str, int] = OrderedDict()  # sha256(token) -> key id

    async def authenticate(
        self, token: str | None, client_host: str | None, *, session: str | None = None
    ) -> Principal:
        principal = None
        if token:
            principal = await self._by_token(token)
        elif session:
            principal = await self._by_session(session)
        if principal is not None:
            return principal
        if not self.require_key and is_loopback(client_host):
            # Dev mode: local clients need no registered key (the openai client sends some token
            # anyway); they share one rate-limit bucket per address.
            return Principal(None, "dev-loopback", f"loopback:{client_host}")
        if token or session:
            raise AuthError("unknown or revoked API key")
        raise AuthError("missing API key: send 'Authorization: Bearer <key>'")

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

    async def verify_key(self, token: str) -> Principal | None:
        """The active key `token` proves (the login form), or None."""
        return await self._by_token(token) if token else None

    async def _by_token(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        key_id = self._proofs.get(digest)
        if key_id is None:
            verified = await asyncio.to_thread(self._verify, token)
            if verified is not None and verified.key_id is not None:
                self._remember(digest, verified.key_id)
            return verified
        return await self._active(key_id)

    async def _by_session(self, cookie: str) -> Principal | None:
        key_id = read_session(cookie, self._secret_key)
        return None if key_id is None else await self._active(key_id)

    async def _active(self, key_id: int) -> Principal | None:
        name = await asyncio.to_thread(self._active_name, key_id)
        return None if name is None else _key_principal(key_id, name)

    def _remember(self, digest: str, key_id: int) -> None:
        self._proofs[digest] = key_id
        if len(self._proofs) > PROOF_CACHE_SIZE:
            self._proofs.popitem(last=False)

    def _verify(self, token: str) -> Principal | None:
        with session_scope(self._sessions) as session:
            key = verify_api_key(session, token=token, secret_key=self._secret_key)
            return None if key is None else _key_principal(key.id, key.name)

    def _active_name(self, key_id: int) -> str | None:
        with session_scope(self._sessions) as session:
            return active_key_name(session, key_id=key_id)

    def session_cookie(self, key_id: int, *, now: float | None = None) -> str:
        """A signed session for `key_id` that expires after SESSION_TTL_S."""
        expires = int((time.time() if now is None else now) + SESSION_TTL_S)
        return f"{key_id}.{expires}.{_sign(self._secret_key, key_id, expires)}"


def _sign(secret_key: bytes, key_id: int, expires: int) -> str:
    message = f"twincore-session:{key_id}:{expires}".encode()
    return hmac.new(secret_key, message, hashlib.sha256).hexdigest()


def read_session(cookie: str, secret_key: bytes, *, now: float | None = None) -> int | None:
    """The key id a session cookie proves, or None (malformed, forged or expired)."""
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    key_id, expires = int(parts[0]), int(parts[1])
    if expires < (time.time() if now is None else now):
        return None
    if not hmac.compare_digest(parts[2], _sign(secret_key, key_id, expires)):
        return None
    return key_id
