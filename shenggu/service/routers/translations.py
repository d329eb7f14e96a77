"""Machine translation: ``POST /v1/translations`` (zh ↔ en text, every sentence self-checked)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shenggu.errors import InvalidOptionError
from shenggu.service.deps import DatabaseDep, EnginesDep, PrincipalDep, RateLimiterDep
from shenggu.service.errors import error_responses
from shenggu.service.limits import check_characters
from shenggu.service.schemas.translations import Translation
from shenggu.service.storage import glossaries, usage
from shenggu.text.script import text_language
from shenggu.translate.glossary import MAX_TERMS, check_glossary
from shenggu.translate.pipeline import translate
from shenggu.translate.sentences import MAX_TEXT_CHARS

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


@router.post("/translations", response_model=Translation)
async def create_translation(
    body: TranslationRequest,
    engines: EnginesDep,
    database: DatabaseDep,
    limiter: RateLimiterDep,
    principal: PrincipalDep,
) -> dict:
    """Translate sentence by sentence. Every sentence is a machine draft; one whose facts (numbers, units, dates,
    amounts, drug names, codes, glossary terms) did not survive even after a corrective retry comes back with
    ``needs_review: true`` and the reasons."""
    source = body.source_language or text_language(body.text)
    if source == body.target_language:
        raise InvalidOptionError(f"source and target language are both '{source}'")
    limiter.check(principal)
    with database.session() as session:
        glossary = glossaries.terms_for(session, principal.tenant_id, body.glossaries, check_glossary(body.glossary))
        check_characters(session, principal, len(body.text))
    direction = f"{source}-{body.target_language}"
    result = await run_in_threadpool(
        translate, body.text, direction, engines.translator(), glossary, str(principal.tenant_id), body.checks
    )
    with database.session() as session:
        usage.record(session, principal.tenant_id, "translate", characters=len(body.text))
    return result.to_dict()
