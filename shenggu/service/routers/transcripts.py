"""Saved transcripts (``/v1/transcripts``): the console's edit mode saves a corrected transcript here, saves over
it (each save a new revision; a save from an older revision is a 409, so two editors never overwrite each other)
and exports it as TXT, SRT, VTT, DOCX or JSON. Per tenant: another tenant's id is a 404."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from shenggu.service.deps import DbSessionDep, PrincipalDep
from shenggu.service.errors import ErrorBody, error_responses
from shenggu.service.schemas.transcripts import TranscriptBody, Transcripts, TranscriptUpdate, TranscriptView
from shenggu.service.storage import transcripts as transcript_store
from shenggu.service.storage.models import StoredTranscript
from shenggu.service.transcript_exports import MEDIA_TYPES, ExportFormat, content_disposition, export

router = APIRouter(prefix="/v1/transcripts", tags=["transcripts"], responses=error_responses(401, 404, 422))


def _utc(value: dt.datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()  # SQLite gives UTC back naive


def _summary(row: StoredTranscript) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "language": row.language,
        "duration": row.duration,
        "source": row.source,
        "created_at": _utc(row.created_at),
        "updated_at": _utc(row.updated_at),
        "revision": row.revision,
        "segment_count": row.segment_count,
    }


def _view(row: StoredTranscript) -> dict:
    return {**_summary(row), "segments": row.segments}


@router.post("", status_code=201, response_model=TranscriptView)
def create_transcript(body: TranscriptBody, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """Save a transcript (revision 1). A bad time, text or count is a 422 naming the field (``segments.3``,
    ``segments.3.words.0.end``...)."""
    return _view(transcript_store.create(session, principal.tenant_id, body.model_dump()))


@router.get("", response_model=Transcripts)
def list_transcripts(
    session: DbSessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    """The caller's saved transcripts, newest first (without their segments: read one for them)."""
    rows, total = transcript_store.page(session, principal.tenant_id, limit, offset)
    return {"object": "list", "data": [_summary(row) for row in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/{transcript_id}", response_model=TranscriptView)
def get_transcript(transcript_id: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """A saved transcript with its segments and its ``revision`` (send it back with the next save)."""
    return _view(transcript_store.get(session, principal.tenant_id, transcript_id))


_CHANGED = {409: {"model": ErrorBody, "description": "Saved by someone else since the given revision was loaded"}}


@router.put("/{transcript_id}", response_model=TranscriptView, responses=_CHANGED)
def save_transcript(transcript_id: str, body: TranscriptUpdate, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """Save over a transcript: the fields sent replace the stored ones (left out: kept), and ``revision`` goes up
    by one. With ``revision`` (the one loaded) a transcript saved by someone else since is a 409 "changed since you
    loaded it", and nothing is stored."""
    row = transcript_store.get(session, principal.tenant_id, transcript_id)
    return _view(transcript_store.save(session, row, body.changes(), body.revision))


@router.delete("/{transcript_id}", status_code=204)
def delete_transcript(transcript_id: str, session: DbSessionDep, principal: PrincipalDep) -> Response:
    """Delete a saved transcript."""
    transcript_store.delete(session, principal.tenant_id, transcript_id)
    return Response(status_code=204)


_EXPORTS = {
    200: {
        "description": "The transcript as a file to download (``Content-Disposition: attachment``, UTF-8 text).",
        "content": {
            media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()
        },
    }
}


@router.get("/{transcript_id}/export", response_class=Response, responses=_EXPORTS)
def export_transcript(
    transcript_id: str,
    session: DbSessionDep,
    principal: PrincipalDep,
    fmt: Annotated[ExportFormat, Query(alias="format", description="txt, srt, vtt, docx or json.")] = "txt",
) -> Response:
    """The transcript as a file: ``txt`` (its text; a ``speaker: text`` line per turn when it has speakers),
    ``srt`` or ``vtt`` subtitles (a cue per segment, the speaker in front), ``docx`` (a paragraph per segment with
    its times and speaker) or ``json`` (as ``GET`` shows it)."""
    row = transcript_store.get(session, principal.tenant_id, transcript_id)
    content = export(row, fmt, TranscriptView(**_view(row)).model_dump())
    headers = {"Content-Disposition": content_disposition(row.name, row.id, fmt)}
    return Response(content, media_type=MEDIA_TYPES[fmt], headers=headers)
