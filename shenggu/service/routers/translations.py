"""Machine translation: ``POST /v1/translations`` (zh ↔ en text, every sentence self-checked)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shenggu.errors import InvalidOptionError
from shenggu.service.auth import current_principal
from shenggu.service.errors import error_responses
from shenggu.service.limits import check_characters
from shenggu.service.storage import glossaries, usage
from shenggu.service.storage.tenants import Principal
from shenggu.translate.glossary import MAX_TERMS, check_glossary
from shenggu.translate.pipeline import translate
from shenggu.translate.registry import get_translator
from shenggu.translate.sentences import MAX_TEXT_CHARS
from shenggu.tts.script import text_language

router = APIRouter(prefix="/v1", tags=["translation"], responses=error_responses(400, 401, 404, 422, 429, 503))


class TranslationRequest(BaseModel):
    """Text to translate, the target language, optional source language and glossary."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    target_language: Literal["en", "zh"]
    source_language: Literal["en", "zh"] | None = Field(None, description="Default: zh if the text has Chinese.")
    glossary: dict[str, str] = Field(
        default_factory=dict, max_length=MAX_TERMS, description="Term pairs that must be used: {source: target}."
    )
    glossaries: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Names of stored glossaries (/v1/glossaries) to use; 'default' always applies.",
    )
    checks: bool = Field(
        True, strict=True, description="Verify numbers, units, dates, drugs, codes and terms; retry or flag."
    )


@router.post("/translations")
async def create_translation(
    body: TranslationRequest, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> dict:
    """Translate sentence by sentence. Every sentence is a machine draft; one whose facts (numbers, units, dates,
    amounts, drug names, codes, glossary terms) did not survive even after a corrective retry comes back with
    ``needs_review: true`` and the reasons."""
    source = body.source_language or text_language(body.text)
    if source == body.target_language:
        raise InvalidOptionError(f"source and target language are both '{source}'")
    state = request.app.state
    state.rate_limiter.check(principal)
    with state.db.session() as session:
        glossary = glossaries.terms_for(session, principal.tenant_id, body.glossaries, check_glossary(body.glossary))
        check_characters(session, principal, len(body.text))
    direction = f"{source}-{body.target_language}"
    result = await run_in_threadpool(
        translate, body.text, direction, get_translator(), glossary, str(principal.tenant_id), body.checks
    )
    with state.db.session() as session:
        usage.record(session, principal.tenant_id, "translate", characters=len(body.text))
    return result.to_dict()
