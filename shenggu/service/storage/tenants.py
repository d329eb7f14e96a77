"""Tenants and API keys. A key is ``sg_<id>_<secret>``; only the SHA-256 of the whole key is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.service.storage.models import ApiKey, Tenant, utcnow
from shenggu.service.storage.names import CONTROL_CHARACTERS, DOT_NAMES


class NotFoundError(ShengguError):
    """The named thing does not exist (or belongs to another tenant)."""

    code = "not_found"
    http_status = 404


# The PostgreSQL advisory lock that serializes first-run setups (an arbitrary constant, "sgsetup" in ASCII).
_SETUP_LOCK = 0x7367_7365_7475_70


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the tenant, its limits, and whether the key is an admin key."""

    tenant_id: int
    tenant_name: str
    key_id: str
    admin: bool
    quota_seconds_per_day: float | None = None
    rate_per_minute: int | None = None
    max_audio_seconds: float | None = None
    quota_characters_per_day: int | None = None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def get_or_create_tenant(
    session: Session,
    name: str,
    quota_seconds_per_day: float | None = None,
    rate_per_minute: int | None = None,
    max_audio_seconds: float | None = None,
    quota_characters_per_day: int | None = None,
) -> Tenant:
    """The tenant called ``name``, created with the given limits if new (limits given for an existing one update it)."""
    name = name.strip()
    if not name or len(name) > 100 or name in DOT_NAMES or CONTROL_CHARACTERS.search(name):
        raise InvalidOptionError("tenant name must be 1-100 characters, without control characters, not . or ..")
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(name=name, secret=secrets.token_hex(32))
        session.add(tenant)
    for field, value in (
        ("quota_seconds_per_day", quota_seconds_per_day),
        ("rate_per_minute", rate_per_minute),
        ("max_audio_seconds", max_audio_seconds),
        ("quota_characters_per_day", quota_characters_per_day),
    ):
        if value is not None:
            setattr(tenant, field, value)
    session.flush()
    return tenant


def create_key(session: Session, tenant: Tenant, admin: bool = False) -> tuple[ApiKey, str]:
    """A new key for ``tenant``; returns the stored row and the plaintext key (shown once, never stored)."""
    key_id = secrets.token_hex(4)
    plaintext = f"sg_{key_id}_{secrets.token_urlsafe(24)}"
    row = ApiKey(id=key_id, tenant_id=tenant.id, key_hash=_hash(plaintext), admin=admin)
    session.add(row)
    session.flush()
    return row, plaintext


def admin_key_exists(session: Session) -> bool:
    """Whether some unrevoked admin key exists (revoked ones do not count)."""
    query = select(ApiKey.id).where(ApiKey.admin.is_(True), ApiKey.revoked_at.is_(None)).limit(1)
    return session.scalar(query) is not None


def lock_for_setup(session: Session) -> None:
    """Hold, until the session's transaction ends, a lock that every first-run setup takes before it looks for an
    admin key, so that of two concurrent setups the second sees the first one's key (one key, never two). Take it first
    thing in the transaction: SQLite cannot move a transaction that has read to writing while another writes."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SETUP_LOCK})
    else:
        # SQLite has one write lock for the whole database: any write statement takes it (even one that changes
        # no row), and the transaction keeps it until it ends; a second writer waits (busy_timeout).
        session.execute(update(ApiKey).where(ApiKey.admin.is_(True)).values(admin=ApiKey.admin))


def authenticate(session: Session, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key, else None."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    tenant = session.get(Tenant, row.tenant_id)
    return principal_of(tenant, row.id, row.admin)


def principal_of(tenant: Tenant, key_id: str, admin: bool) -> Principal:
    """A principal acting for ``tenant``."""
    return Principal(
        tenant.id,
        tenant.name,
        key_id,
        admin,
        tenant.quota_seconds_per_day,
        tenant.rate_per_minute,
        tenant.max_audio_seconds,
        tenant.quota_characters_per_day,
    )


def list_keys(session: Session) -> list[tuple[ApiKey, Tenant]]:
    """Every key with its tenant, oldest first."""
    rows = session.execute(select(ApiKey, Tenant).join(Tenant).order_by(ApiKey.created_at))
    return [(key, tenant) for key, tenant in rows]


def revoke_key(session: Session, key_id: str) -> ApiKey:
    """Revoke a key by its id; it stops working at once."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"no API key with id '{key_id}'")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
