"""A tenant's stored hotword lists: ``/v1/hotwords``.

The list named ``default`` applies to all of the tenant's recognition (files, jobs, streams); other lists apply
when a request names them in ``hotword_lists``. Changes apply to requests that start afterwards.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from shenggu.service.auth import current_principal
from shenggu.service.errors import error_responses
from shenggu.service.storage import hotwords
from shenggu.service.storage.models import HotwordList
from shenggu.service.storage.tenants import Principal

router = APIRouter(prefix="/v1/hotwords", tags=["hotwords"], responses=error_responses(400, 401, 404, 422))


class HotwordListBody(BaseModel):
    """The terms of a list (names, jargon, product names)."""

    model_config = ConfigDict(extra="forbid")
    words: list[Annotated[str, Field(max_length=hotwords.MAX_WORD_CHARS)]] = Field(
        max_length=hotwords.MAX_WORDS, examples=[["太乙真人", "房地产", "CTranslate2"]]
    )


def _view(row: HotwordList) -> dict:
    return {"name": row.name, "words": row.words, "updated_at": row.updated_at.isoformat()}


@router.get("")
def list_hotword_lists(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> dict:
    """The caller's lists."""
    with request.app.state.db.session() as session:
        return {"data": [_view(row) for row in hotwords.list_all(session, principal.tenant_id)]}


@router.put("/{name}")
def put_hotword_list(
    name: str, body: HotwordListBody, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> dict:
    """Create or replace a list."""
    with request.app.state.db.session() as session:
        return _view(hotwords.put(session, principal.tenant_id, name, body.words))


@router.get("/{name}")
def get_hotword_list(name: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> dict:
    """One list."""
    with request.app.state.db.session() as session:
        return _view(hotwords.get(session, principal.tenant_id, name))


@router.delete("/{name}", status_code=204)
def delete_hotword_list(
    name: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Response:
    """Remove a list."""
    with request.app.state.db.session() as session:
        hotwords.delete(session, principal.tenant_id, name)
    return Response(status_code=204)
