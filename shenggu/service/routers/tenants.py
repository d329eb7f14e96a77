"""Who is calling (``/v1/me``), usage for every tenant (``/v1/usage``), tenant/key management for admins
(``/v1/admin``), and first-run setup (``/v1/admin/setup``): the first administrator key, made from a browser on
the server's own machine, so that a newcomer needs no command line."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shenggu.errors import ShengguError
from shenggu.logs import get_logger
from shenggu.service.auth import ForbiddenError
from shenggu.service.deps import AdminDep, DatabaseDep, DbSessionDep, PrincipalDep, SettingsDep
from shenggu.service.errors import ErrorBody, error_responses
from shenggu.service.limits import CHARACTER_QUOTA_CAPABILITIES
from shenggu.service.schemas.tenants import CreatedKey, Keys, Me, RevokedKey, SetupStatus, Usage
from shenggu.service.storage import tenants, usage
from shenggu.service.storage.models import INT32_MAX

router = APIRouter(prefix="/v1", tags=["tenants"], responses=error_responses(400, 401, 403, 404, 422))
log = get_logger("shenggu.service")

SETUP_TENANT = "admin"
# Headers a reverse proxy adds: a request that has one was relayed, so its loopback peer is not its sender.
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


class SetupDoneError(ShengguError):
    """First-run setup was asked for, but an administrator key exists already."""

    code = "setup_done"
    http_status = 409


@router.get("/me", response_model=Me)
def get_me(request: Request, settings: SettingsDep, principal: PrincipalDep) -> dict:
    """Who the caller is: its tenant, its key's id (null in development mode without a key) and whether it may
    administer; and whether the server runs in development mode (no key needed)."""
    keyless = principal is request.app.state.dev_principal
    return {
        "tenant": principal.tenant_name,
        "key_id": None if keyless else principal.key_id,
        "admin": principal.admin,
        "dev_mode": settings.dev_mode,
    }


@router.get("/usage", response_model=Usage)
def get_usage(session: DbSessionDep, principal: PrincipalDep, days: Annotated[int, Query(ge=1, le=366)] = 30) -> dict:
    """The caller's metered use per capability and day."""
    rows = usage.report(session, principal.tenant_id, days)
    used_today = usage.audio_seconds_today(session, principal.tenant_id)
    characters_today = usage.characters_today(session, principal.tenant_id, CHARACTER_QUOTA_CAPABILITIES)
    return {
        "tenant": principal.tenant_name,
        "limits": {
            "quota_seconds_per_day": principal.quota_seconds_per_day,
            "rate_per_minute": principal.rate_per_minute,
            "max_audio_seconds": principal.max_audio_seconds,
            "quota_characters_per_day": principal.quota_characters_per_day,
        },
        "audio_seconds_today": round(used_today, 3),
        "characters_today": characters_today,
        "data": rows,
    }


class KeyRequest(BaseModel):
    """A new key for a (new or existing) tenant, with optional limits."""

    model_config = ConfigDict(strict=True, extra="forbid")

    tenant: str = Field(min_length=1, max_length=100)
    admin: bool = Field(False, strict=True)
    quota_seconds_per_day: float | None = Field(None, ge=0)
    rate_per_minute: int | None = Field(None, ge=1, le=INT32_MAX)
    max_audio_seconds: float | None = Field(None, gt=0)
    quota_characters_per_day: int | None = Field(None, ge=0, le=INT32_MAX)


@router.post("/admin/keys", status_code=201, response_model=CreatedKey)
def create_key(body: KeyRequest, session: DbSessionDep, _: AdminDep) -> dict:
    """Create a tenant (if new) and a key for it; the key is in the response once and never again."""
    tenant = tenants.get_or_create_tenant(
        session,
        body.tenant,
        body.quota_seconds_per_day,
        body.rate_per_minute,
        body.max_audio_seconds,
        body.quota_characters_per_day,
    )
    row, plaintext = tenants.create_key(session, tenant, body.admin)
    return {"id": row.id, "tenant": tenant.name, "admin": row.admin, "key": plaintext}


@router.get("/admin/keys", response_model=Keys)
def list_keys(session: DbSessionDep, _: AdminDep) -> dict:
    """Every key (never the key itself)."""
    return {"data": [key_view(k, t) for k, t in tenants.list_keys(session)]}


@router.delete("/admin/keys/{key_id}", response_model=RevokedKey)
def revoke_key(key_id: str, session: DbSessionDep, _: AdminDep) -> dict:
    """Revoke a key."""
    row = tenants.revoke_key(session, key_id)
    return {"id": row.id, "revoked": True}


def key_view(key, tenant) -> dict:
    """A key's public description."""
    return {
        "id": key.id,
        "tenant": tenant.name,
        "admin": key.admin,
        "created_at": key.created_at.isoformat(),
        "revoked": key.revoked_at is not None,
        "quota_seconds_per_day": tenant.quota_seconds_per_day,
        "rate_per_minute": tenant.rate_per_minute,
        "quota_characters_per_day": tenant.quota_characters_per_day,
    }


# --------------------------------------------------------------------------------------------------------
# First-run setup
# --------------------------------------------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a request's peer address) is this machine's: 127.0.0.0/8 or ::1 (also IPv4-mapped). A
    name, such as a test client's, is not."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def is_local_request(host: str | None, headers: Mapping[str, str]) -> bool:
    """Whether a request came from this machine directly: a loopback peer and no proxy's forwarding header (a
    reverse proxy on this machine would otherwise make every visitor look local)."""
    return is_loopback(host) and not any(name in headers for name in _PROXY_HEADERS)


class SetupRequest(BaseModel):
    """The tenant of the first administrator key."""

    model_config = ConfigDict(strict=True, extra="forbid")

    tenant: str = Field(SETUP_TENANT, min_length=1, max_length=100)


@router.get("/admin/setup", response_model=SetupStatus)
def get_setup(session: DbSessionDep) -> dict:
    """Whether first-run setup is available: no administrator key exists yet (revoked ones do not count). No key
    needed."""
    return {"available": not tenants.admin_key_exists(session)}


_SETUP_REFUSED = {
    403: {"model": ErrorBody, "description": "Not a request from the server's own machine (loopback)"},
    409: {"model": ErrorBody, "description": "An administrator key exists already"},
}


@router.post("/admin/setup", status_code=201, response_model=CreatedKey, responses=_SETUP_REFUSED)
def create_setup_key(request: Request, database: DatabaseDep, body: SetupRequest | None = None) -> dict:
    """First-run setup: create the first administrator key (tenant ``admin``, or ``{"tenant": name}``). No key
    needed, but only while no administrator key exists (else 409) and only from the server's own machine, a
    loopback address without proxy headers (else 403). The key is in the response once and never again."""
    tenant_name = (body or SetupRequest()).tenant
    host = request.client.host if request.client else None
    with database.session() as session:
        tenants.lock_for_setup(session)  # first: two concurrent setups make one key
        if tenants.admin_key_exists(session):
            raise SetupDoneError("an administrator key exists; sign in with it")
        if not is_local_request(host, request.headers):
            raise ForbiddenError("first-run setup is only allowed from this machine (loopback)")
        tenant = tenants.get_or_create_tenant(session, tenant_name)
        row, plaintext = tenants.create_key(session, tenant, admin=True)
        created = {"id": row.id, "tenant": tenant.name, "admin": True, "key": plaintext}
    log.info("first-run setup: administrator key created", key_id=row.id, tenant=tenant.name, client=host)
    return created
