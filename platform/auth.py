"""API keys: issued once in clear, stored only as an HMAC hash, revocable.

A key looks like `tc_<8-char id>_<secret>`. The id part finds the row without scanning; the HMAC
(keyed by the settings' secret key) is what proves the key, so a leaked database yields no key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from twincore.platform.db.base import Base, UTCDateTime, utcnow

KEY_PREFIX = "tc"


class ApiKey(Base):
    """One API key of the gateway."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    lookup: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(secret_key: bytes, token: str) -> str:
    return hmac.new(secret_key, token.encode(), hashlib.sha256).hexdigest()


def create_api_key(session: Session, *, name: str, secret_key: bytes) -> tuple[ApiKey, str]:
    """Store a new key and return it with its clear token (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("an API key needs a name of 1 to 100 characters")
    lookup = secrets.token_hex(4)
    token = f"{KEY_PREFIX}_{lookup}_{secrets.token_urlsafe(24)}"
    key = ApiKey(name=name, lookup=lookup, key_hash=_hash(secret_key, token))
    session.add(key)
    session.flush()
    return key, token


def verify_api_key(session: Session, *, token: str, secret_key: bytes) -> ApiKey | None:
    """The active key this token proves, with its last use recorded; None when it proves none."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.lookup == parts[1]))
    if key is None or not key.active:
        return None
    if not hmac.compare_digest(key.key_hash, _hash(secret_key, token)):
        return None
    key.last_used_at = utcnow()
    return key


def active_key_name(session: Session, *, key_id: int) -> str | None:
    """The name of key `key_id` while it is active; None once revoked or unknown. One read by
    primary key: the gateway asks on every request, so a revocation counts at once."""
    row = session.execute(
        select(ApiKey.name, ApiKey.revoked_at).where(ApiKey.id == key_id)
    ).one_or_none()
    return None if row is None or row.revoked_at is not None else str(row.name)


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first, revoked ones included."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def revoke_api_key(session: Session, *, key_id: int) -> ApiKey:
    """Revoke a key at once; raises LookupError for an unknown id."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise LookupError(f"no API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
