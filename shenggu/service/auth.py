"""Who is calling: ``Authorization: Bearer KEY`` → the tenant's principal; development mode only if switched on."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import State
from starlette.requests import HTTPConnection

from shenggu.errors import ShengguError
from shenggu.service.storage import tenants
from shenggu.service.storage.tenants import Principal

DEV_TENANT = "dev"


class UnauthorizedError(ShengguError):
    """No API key, or a wrong or revoked one."""

    code = "unauthorized"
    http_status = 401


class ForbiddenError(ShengguError):
    """The key is valid but may not do this (admin only)."""

    code = "forbidden"
    http_status = 403


def _bearer(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("api_key") or None  # browsers cannot set headers on WebSockets


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller's principal, or 401."""
    principal = authenticate_key(request)
    request.state.principal = principal
    return principal


def authenticate_key(request: HTTPConnection) -> Principal:
    """The principal of an HTTP request or WebSocket, from its key (or dev mode); raises UnauthorizedError."""
    return principal_for_key(request.app.state, _bearer(request))


def principal_for_key(state: State, key: str | None) -> Principal:
    """The principal of ``key`` on the app whose ``state`` this is (or dev mode's), for any transport (a listener
    of another protocol passes the key its client sent); raises UnauthorizedError."""
    principal = None
    if key is not None:
        with state.db.session() as session:
            principal = tenants.authenticate(session, key)
    if principal is None and state.settings.dev_mode:
        # Development mode: a valid key still acts as its tenant; anything else is the shared dev tenant.
        return state.dev_principal
    if key is None:
        raise UnauthorizedError("missing API key: send 'Authorization: Bearer KEY'", {"WWW-Authenticate": "Bearer"})
    if principal is None:
        raise UnauthorizedError("invalid or revoked API key", {"WWW-Authenticate": "Bearer"})
    return principal


def admin_principal(request: Request) -> Principal:
    """FastAPI dependency: an admin key's principal, or 401/403."""
    principal = current_principal(request)
    if not principal.admin:
        raise ForbiddenError("this needs an admin key")
    return principal
