"""Usage for every tenant (``/v1/usage``) and tenant/key management for admins (``/v1/admin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shenggu.service.auth import admin_principal, current_principal
from shenggu.service.errors import error_responses
from shenggu.service.storage import tenants, usage
from shenggu.service.storage.models import INT32_MAX
from shenggu.service.storage.tenants import Principal

router = APIRouter(prefix="/v1", tags=["tenants"], responses=error_responses(400, 401, 403, 404, 422))


@router.get("/usage")
def get_usage(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict:
    """The caller's metered use per capability and day."""
    with request.app.state.db.session() as session:
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


@router.post("/admin/keys", status_code=201)
def create_key(body: KeyRequest, request: Request, _: Annotated[Principal, Depends(admin_principal)]) -> dict:
    """Create a tenant (if new) and a key for it; the key is in the response once and never again."""
    with request.app.state.db.session() as session:
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


@router.get("/admin/keys")
def list_keys(request: Request, _: Annotated[Principal, Depends(admin_principal)]) -> dict:
    """Every key (never the key itself)."""
    with request.app.state.db.session() as session:
        return {"data": [key_view(k, t) for k, t in tenants.list_keys(session)]}


@router.delete("/admin/keys/{key_id}")
def revoke_key(key_id: str, request: Request, _: Annotated[Principal, Depends(admin_principal)]) -> dict:
    """Revoke a key."""
    with request.app.state.db.session() as session:
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
