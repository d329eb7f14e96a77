"""A tenant's stored translation glossaries: ``/v1/glossaries``.

The glossary named ``default`` applies to all of the tenant's translations (text, speech, jobs); other glossaries
apply when a request names them in ``glossaries``. Changes apply to requests that start afterwards.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from shenggu.service.auth import current_principal
from shenggu.service.errors import error_responses
from shenggu.service.storage import glossaries
from shenggu.service.storage.models import Glossary
from shenggu.service.storage.tenants import Principal
from shenggu.translate.glossary import MAX_TERMS

router = APIRouter(prefix="/v1/glossaries", tags=["translation"], responses=error_responses(400, 401, 404, 422))


class GlossaryBody(BaseModel):
    """Term pairs translations must use: {source term: required target term}, either direction."""

    model_config = ConfigDict(extra="forbid")
    terms: dict[str, str] = Field(max_length=MAX_TERMS, examples=[{"原告": "plaintiff", "amoxicillin": "阿莫西林"}])


def _view(row: Glossary) -> dict:
    return {"name": row.name, "terms": row.terms, "updated_at": row.updated_at.isoformat()}


@router.get("")
def list_glossaries(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> dict:
    """The caller's glossaries."""
    with request.app.state.db.session() as session:
        return {"data": [_view(row) for row in glossaries.list_all(session, principal.tenant_id)]}


@router.put("/{name}")
def put_glossary(
    name: str, body: GlossaryBody, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> dict:
    """Create or replace a glossary."""
    with request.app.state.db.session() as session:
        return _view(glossaries.put(session, principal.tenant_id, name, body.terms))


@router.get("/{name}")
def get_glossary(name: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> dict:
    """One glossary."""
    with request.app.state.db.session() as session:
        return _view(glossaries.get(session, principal.tenant_id, name))


@router.delete("/{name}", status_code=204)
def delete_glossary(
    name: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Response:
    """Remove a glossary."""
    with request.app.state.db.session() as session:
        glossaries.delete(session, principal.tenant_id, name)
    return Response(status_code=204)
