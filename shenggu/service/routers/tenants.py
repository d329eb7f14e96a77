"""Usage for every tenant (``/v1/usage``) and tenant/key management for admins (``/v1/admin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from shenggu.service.deps import AdminDep, DbSessionDep, PrincipalDep
from shenggu.service.errors import error_responses
from shenggu.service.schemas.tenants import CreatedKey, Keys, RevokedKey, Usage
from shenggu.service.storage import tenants, usage
from shenggu.service.storage.models import INT32_MAX

router = APIRouter(prefix="/v1", tags=["tenants"], responses=error_responses(400, 401, 403, 404, 422))


@router.get("/usage", response_model=Usage)
def get_usage(session: DbSessionDep, principal: PrincipalDep, days: Annotated[int, Query(ge=1, le=366)] = 30) -> dict:
    """The caller's metered use per capability and day."""
    rows = usage.report(session, principal.tenant_id, days)
    used_today = usage.audio_seconds_today(session, principal.tenant_id)
    return {
        "tenant": principal.tenant_name,
        "limits": {
            "quota_seconds_per_day": principal.quota_seconds_per_day,
            "rate_per_minute": principal.rate_per_minute,
            "max_audio_seconds": principal.max_audio_seconds,
            "quota_characters_per_day": principal.quota_characters_per_day,
        },
        "audio_seconds_today": round(used_today, 3),
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
