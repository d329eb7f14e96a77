"""A tenant's FAQ knowledge bases: ``/v1/knowledge-bases``.

``PUT /v1/knowledge-bases/{name}`` imports a file (multipart field ``file``: CSV, TSV, XLSX or Markdown, see
``shenggu.nlp.faq.files``) or JSON entries as a new version; the newest version is active. Older versions stay
readable, and ``POST .../versions/{n}/activate`` makes one active again (as a copy, so history is never lost).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from shenggu.config import Settings
from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq import files
from shenggu.nlp.faq.types import KnowledgeBase
from shenggu.service.deps import DatabaseDep, DbSessionDep, PrincipalDep, RateLimiterDep, SettingsDep
from shenggu.service.errors import error_responses
from shenggu.service.schemas import form_or_json_body
from shenggu.service.schemas.knowledge import (
    ActivatedVersion,
    ImportedVersion,
    KnowledgeBasePage,
    KnowledgeBases,
    KnowledgeBaseVersions,
)
from shenggu.service.storage import knowledge
from shenggu.service.storage.db import Database
from shenggu.service.storage.models import INT32_MAX, KnowledgeBaseVersion, StoredKnowledgeBase
from shenggu.service.storage.tenants import Principal
from shenggu.service.uploads import UploadTooLargeError

router = APIRouter(
    prefix="/v1/knowledge-bases", tags=["knowledge bases"], responses=error_responses(400, 401, 404, 413, 422, 429)
)

FormatField = Literal["csv", "tsv", "xlsx", "md"]
Alternatives = (
    Annotated[list[str], Field(max_length=files.MAX_ALTERNATIVES)]
    | Annotated[str, Field(max_length=files.MAX_ALTERNATIVES * (files.MAX_QUESTION_CHARS + 3))]
)


class EntryTextBody(BaseModel):
    """One language version of an entry."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=files.MAX_QUESTION_CHARS)
    alternatives: Alternatives = Field(default_factory=list, description="A list, or separated by '|'.")
    answer: str = Field("", max_length=files.MAX_ANSWER_CHARS)


class EntryBody(BaseModel):
    """An entry: one row (question, alternatives, answer, category, language) or all languages in ``texts``."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(max_length=files.MAX_ID_CHARS)] | int | None = Field(
        None, description="Default: made from the question."
    )
    category: str = Field("", max_length=files.MAX_CATEGORY_CHARS)
    question: str | None = Field(None, max_length=files.MAX_QUESTION_CHARS)
    alternatives: Alternatives = Field(default_factory=list, description="A list, or separated by '|'.")
    answer: str = Field("", max_length=files.MAX_ANSWER_CHARS)
    language: str = Field("", max_length=20, description="zh or en; empty: zh if the question has Chinese.")
    texts: dict[str, EntryTextBody] | None = Field(None, description="By language (zh, en), instead of question...")


class KnowledgeBaseBody(BaseModel):
    """A whole knowledge base as JSON (the entries of ``GET /v1/knowledge-bases/{name}`` can be sent back)."""

    model_config = ConfigDict(extra="forbid")
    entries: list[EntryBody] = Field(
        max_length=files.MAX_ENTRIES * 2,
        examples=[[{"question": "怎么开通微粒贷？", "alternatives": ["微粒贷怎么开通"], "answer": "目前采用邀请制。"}]],
    )
    note: str = Field("", max_length=knowledge.MAX_NOTE_CHARS)


_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "CSV, TSV, XLSX or Markdown (.md)."},
        "format": {"type": "string", "enum": list(files.FORMATS), "description": "Default: the file's extension."},
        "note": {"type": "string", "maxLength": knowledge.MAX_NOTE_CHARS, "description": "Why this version."},
    },
}
_PUT_BODY = form_or_json_body(_UPLOAD_SCHEMA, KnowledgeBaseBody)
_FILE_RESPONSE = {
    200: {
        "description": "The knowledge base as a file.",
        "content": {
            media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
            for media in files.MEDIA_TYPES.values()
        },
    }
}


def _version_view(row: KnowledgeBaseVersion, active: int | None = None) -> dict:
    view = {
        "version": row.version,
        "entry_count": row.entry_count,
        "created_at": row.created_at.isoformat(),
        "source": row.source,
        "note": row.note,
        "restored_from": row.restored_from,
    }
    if active is not None:
        view["active"] = row.version == active
    return view


def _base_view(base: StoredKnowledgeBase, active: KnowledgeBaseVersion) -> dict:
    return {
        "name": base.name,
        "version": active.version,
        "entry_count": active.entry_count,
        "created_at": base.created_at.isoformat(),
        "updated_at": active.created_at.isoformat(),
        "source": active.source,
        "note": active.note,
    }


def _limit(settings: Settings) -> int:
    return min(files.MAX_FILE_BYTES, settings.max_upload_mb << 20)


def _too_large(limit: int) -> UploadTooLargeError:
    return UploadTooLargeError(f"knowledge-base file is larger than the limit of {limit / (1 << 20):g} MB")


async def _from_upload(request: Request, limit: int) -> tuple[KnowledgeBase, str, str]:
    """The knowledge base in a multipart upload (at most ``limit`` bytes), its file name and the note."""
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload, fmt, note = form.get("file"), form.get("format"), form.get("note") or ""
        if not isinstance(upload, UploadFile):
            raise InvalidOptionError("send the knowledge-base file in the multipart field 'file'")
        if fmt is not None and fmt not in files.FORMATS:
            raise InvalidOptionError(f"unknown format '{str(fmt)[:20]}' (csv, tsv, xlsx or md)")
        if not isinstance(note, str) or len(note) > knowledge.MAX_NOTE_CHARS:
            raise InvalidOptionError(f"note must be text of at most {knowledge.MAX_NOTE_CHARS} characters")
        source = PurePath((upload.filename or "").replace("\\", "/")).name[:100] or "upload"
        fmt = files.format_of(source, fmt)
        data = await upload.read(limit + 1)
    finally:
        await form.close()
    if len(data) > limit:
        raise _too_large(limit)
    return await run_in_threadpool(files.parse_kb, data, fmt, source), source, note


async def _from_json(request: Request, limit: int) -> tuple[KnowledgeBase, str, str]:
    """The knowledge base in a JSON body ``{"entries": [...], "note": "..."}`` (at most ``limit`` bytes), "json"
    and the note."""
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    try:
        body = KnowledgeBaseBody.model_validate_json(b"".join(chunks))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    items = [entry.model_dump(exclude_unset=True) for entry in body.entries]
    return await run_in_threadpool(files.kb_from_json, items, "entries"), "json", body.note


def _store(database: Database, principal: Principal, name: str, kb: KnowledgeBase, source: str, note: str) -> dict:
    with database.session() as session:
        row, previous = knowledge.create_version(session, principal.tenant_id, name, kb, source, note)
        return {"name": name, **_version_view(row), "previous_version": previous}


@router.get("", response_model=KnowledgeBases)
def list_knowledge_bases(session: DbSessionDep, principal: PrincipalDep) -> dict:
    """The caller's knowledge bases, each with its active version."""
    return {"data": [_base_view(b, v) for b, v in knowledge.list_bases(session, principal.tenant_id)]}


@router.put("/{name}", status_code=201, openapi_extra=_PUT_BODY, response_model=ImportedVersion)
async def put_knowledge_base(
    name: str,
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    limiter: RateLimiterDep,
    principal: PrincipalDep,
) -> dict:
    """Import a new version: a file (multipart ``file``: csv, tsv, xlsx or md; ``format`` if its name has no such
    extension) or JSON ``{"entries": [...]}``. The new version becomes active; the previous one is kept."""
    knowledge.check_name(name)
    limiter.check(principal)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        kb, source, note = await _from_upload(request, _limit(settings))
    elif content_type == "application/json" or content_type.endswith("+json"):
        kb, source, note = await _from_json(request, _limit(settings))
    else:
        raise InvalidOptionError(
            "send the knowledge base as multipart/form-data (field 'file') or as application/json "
            '({"entries": [...]})'
        )
    return await run_in_threadpool(_store, database, principal, name, kb, source, note)


def _version_with_entries(row: KnowledgeBaseVersion, name: str, active: int, limit: int, offset: int) -> dict:
    return {
        "name": name,
        **_version_view(row, active),
        "total": row.entry_count,
        "limit": limit,
        "offset": offset,
        "entries": row.entries[offset : offset + limit],
    }


LimitQuery = Annotated[int, Query(ge=1, le=1000, description="Entries per page.")]
OffsetQuery = Annotated[int, Query(ge=0, le=INT32_MAX, description="Entries to skip.")]
# Bounded, so a huge number is a 422 rather than an integer overflow in the database.
VersionPath = Annotated[int, PathParam(ge=1, le=INT32_MAX, description="A version number.")]


@router.get("/{name}", response_model=KnowledgeBasePage)
def get_knowledge_base(
    name: str, session: DbSessionDep, principal: PrincipalDep, limit: LimitQuery = 100, offset: OffsetQuery = 0
) -> dict:
    """The active version: its metadata and a page of its entries."""
    row = knowledge.get_active(session, principal.tenant_id, name)
    return _version_with_entries(row, name, row.version, limit, offset)


@router.get("/{name}/versions", response_model=KnowledgeBaseVersions)
def list_knowledge_base_versions(name: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """Every version of a base, newest (the active one) first."""
    rows = knowledge.list_versions(session, principal.tenant_id, name)
    return {"name": name, "data": [_version_view(row, rows[0].version) for row in rows]}


@router.get("/{name}/versions/{version}", response_model=KnowledgeBasePage)
def get_knowledge_base_version(
    name: str,
    version: VersionPath,
    session: DbSessionDep,
    principal: PrincipalDep,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> dict:
    """One version (active or not): its metadata and a page of its entries."""
    active = knowledge.get_base(session, principal.tenant_id, name).latest_version
    row = knowledge.get_version(session, principal.tenant_id, name, version)
    return _version_with_entries(row, name, active, limit, offset)


@router.post("/{name}/versions/{version}/activate", response_model=ActivatedVersion)
def activate_knowledge_base_version(
    name: str, version: VersionPath, session: DbSessionDep, principal: PrincipalDep
) -> dict:
    """Make an older version active again: it is copied to a new version (the current one stays in the history).
    Activating the active version changes nothing."""
    row, previous = knowledge.activate(session, principal.tenant_id, name, version)
    return {"name": name, **_version_view(row, row.version), "previous_version": previous}


@router.get("/{name}/export", response_class=Response, responses=_FILE_RESPONSE)
def export_knowledge_base(
    name: str,
    session: DbSessionDep,
    principal: PrincipalDep,
    format: Annotated[FormatField, Query(description="csv, tsv, xlsx or md.")] = "csv",
    version: Annotated[int | None, Query(ge=1, le=INT32_MAX, description="Default: the active version.")] = None,
) -> Response:
    """Download a version (default the active one) as a file that imports back to the same entries."""
    row = knowledge.get_version(session, principal.tenant_id, name, version)
    kb, number = knowledge.entries_of(row), row.version
    return Response(
        files.dump_kb(kb, format),
        media_type=files.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}-v{number}.{format}"'},
    )


@router.delete("/{name}", status_code=204)
def delete_knowledge_base(name: str, session: DbSessionDep, principal: PrincipalDep) -> Response:
    """Remove a base and all its versions."""
    knowledge.delete_base(session, principal.tenant_id, name)
    return Response(status_code=204)
