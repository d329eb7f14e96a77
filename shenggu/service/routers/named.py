"""The four routes of a tenant's named stored items (hotword lists, glossaries): list, put, get, delete.

No ``from __future__ import annotations`` here: the routes' body type is a parameter of the factory, and FastAPI
reads it from the evaluated annotation.
"""

from types import ModuleType

from fastapi import APIRouter, Response
from pydantic import BaseModel

from shenggu.service.deps import DbSessionDep, PrincipalDep
from shenggu.service.errors import error_responses


def named_items_router(
    prefix: str,
    tag: str,
    kind: str,
    store: ModuleType,
    body: type[BaseModel],
    field: str,
    item: type[BaseModel],
    items: type[BaseModel],
) -> APIRouter:
    """Routes under ``prefix`` for ``store`` (a module with ``list_all``, ``put``, ``get``, ``delete``), whose rows
    hold their content in ``field``, written with a ``body`` that has the same field, answered as ``item`` (one)
    and ``items`` (the list)."""
    router = APIRouter(prefix=prefix, tags=[tag], responses=error_responses(400, 401, 404, 422))

    def view(row) -> dict:
        return {"name": row.name, field: getattr(row, field), "updated_at": row.updated_at.isoformat()}

    @router.get("", summary=f"The caller's {kind}s", response_model=items)
    def list_items(session: DbSessionDep, principal: PrincipalDep) -> dict:
        return {"data": [view(row) for row in store.list_all(session, principal.tenant_id)]}

    @router.put("/{name}", summary=f"Create or replace a {kind}", response_model=item)
    def put_item(name: str, content: body, session: DbSessionDep, principal: PrincipalDep) -> dict:  # type: ignore[valid-type]
        return view(store.put(session, principal.tenant_id, name, getattr(content, field)))

    @router.get("/{name}", summary=f"One {kind}", response_model=item)
    def get_item(name: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
        return view(store.get(session, principal.tenant_id, name))

    @router.delete("/{name}", status_code=204, summary=f"Remove a {kind}")
    def delete_item(name: str, session: DbSessionDep, principal: PrincipalDep) -> Response:
        store.delete(session, principal.tenant_id, name)
        return Response(status_code=204)

    return router
