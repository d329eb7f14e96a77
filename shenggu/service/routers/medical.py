"""Clinical records (语音电子病历): ``/v1/medical/records`` and the live dictation ``/v1/medical/dictation``.

``POST /v1/medical/records`` takes a recording (multipart ``file``: a ``medical_record`` job, 202) or text (JSON:
the record at once, 201). A record is read as JSON, FHIR, DOCX or PDF, corrected by the doctor (``PATCH``: each
correction is a new version) and listed or deleted per tenant. Jobs, quotas, rate limits and metering are those of
``/v1/jobs``: audio seconds for recordings and streams, characters for text.

The live dictation speaks ``/v1/audio/stream``'s protocol with its auth, and runs its streaming session (with the
medical vocabulary): after each ``final`` it sends ``{"type": "record", "record": ...}``, the record so far; at the
end it stores the record (mode dictation) and sends ``{"type": "saved", "id": ...}`` before ``done``. A stream
that breaks off keeps what was dictated: the record is stored all the same (it is listed; no message can say so).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from shenggu.asr.streaming import StreamingSession
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.logs import get_logger
from shenggu.service.audio_requests import AudioRequest, AudioRequestDep
from shenggu.service.auth import authenticate_key
from shenggu.service.deps import DatabaseDep, DbSessionDep, EnginesDep, PrincipalDep, SettingsDep, StreamSlotsDep
from shenggu.service.engines import Engines
from shenggu.service.errors import ErrorBody, error_responses
from shenggu.service.fields import form_flag
from shenggu.service.limits import check_audio
from shenggu.service.observability import add_audio_seconds
from shenggu.service.routers.jobs import enqueue, store_upload
from shenggu.service.routers.stream import serve_frames, stream_options
from shenggu.service.schemas import form_or_json_body
from shenggu.service.schemas.medical import (
    MAX_TEXT_CHARS,
    MAX_TURNS,
    MedicalRecordAccepted,
    MedicalRecords,
    MedicalRecordView,
    RecordCorrections,
    RecordFromText,
)
from shenggu.service.sockets import CLOSE_ERROR, CLOSE_TRY_LATER, fail, refuse, resampler_to_16k
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.storage import medical as medical_store
from shenggu.service.storage import usage
from shenggu.service.storage.db import Database
from shenggu.service.storage.models import Job, StoredMedicalRecord
from shenggu.service.tasks import MedicalRequest
from shenggu.solutions.medical.corrections import apply_corrections, check_sections
from shenggu.solutions.medical.dictation import DictationBuilder
from shenggu.solutions.medical.fhir import to_fhir_bundle
from shenggu.solutions.medical.from_text import text_record
from shenggu.solutions.medical.llm_fill import fill_empty_sections
from shenggu.solutions.medical.outputs import render_document
from shenggu.solutions.medical.pipeline import medical_options
from shenggu.solutions.medical.record import MedicalRecord
from shenggu.text.lists import split_commas

router = APIRouter(prefix="/v1/medical", tags=["medical"], responses=error_responses(400, 401, 404, 422, 429))
log = get_logger("shenggu.medical")

TASK = "medical_record"  # the job's task, and the capability text records are metered as
STREAM_CAPABILITY = "medical_dictation"
OBJECT = "medical.record"
_NOT_READY = {
    409: {
        "model": ErrorBody,
        "description": "The record is not made yet (its job runs or failed), or another correction was stored "
        "since it was read",
    }
}
_MEDIA = {
    "fhir": "application/fhir+json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


class TextTooLongError(ShengguError):
    """A text, dialogue or correction longer than the limit."""

    code = "text_too_long"
    http_status = 413


# --------------------------------------------------------------------------------------------------------
# Creating records
# --------------------------------------------------------------------------------------------------------

_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The recording (audio or video)."},
        "mode": {"type": "string", "enum": ["dictation", "consultation"], "default": "dictation"},
        "hotwords": {"type": "string", "description": "Comma-separated names/terms to favour."},
        "hotword_lists": {"type": "string", "description": "Comma-separated stored hotword lists (/v1/hotwords)."},
        "medical_vocabulary": {
            "type": "boolean",
            "default": True,
            "description": "Correct recognition towards the bundled medical terms and the dictation words.",
        },
        "llm_fill": {
            "type": "boolean",
            "default": False,
            "description": "consultation: the bundled language model drafts the sections the extractive drafter "
            "left empty; every value it writes must be found in the conversation (else dropped and flagged).",
        },
        "doctor": {
            "type": "string",
            "description": "consultation: the enrolled voice (/v1/speakers) of the doctor; without it the speaker "
            "who asks the most questions is the doctor.",
        },
    },
}
_CREATE_BODY = form_or_json_body(_UPLOAD_SCHEMA, RecordFromText)
_ACCEPTED = {202: {"model": MedicalRecordAccepted, "description": "A recording accepted: its job makes the record"}}


@router.post(
    "/records",
    status_code=201,
    response_model=MedicalRecordView,
    openapi_extra=_CREATE_BODY,
    responses={**_ACCEPTED, **error_responses(413, 415)},
)
async def create_record(request: Request, audio: AudioRequestDep, engines: EnginesDep) -> dict | JSONResponse:
    """Make a record. A recording (multipart ``file``, ``mode`` dictation or consultation): 202, and a job
    recognizes it with the medical vocabulary and reads the dictation, or diarizes the consultation into doctor
    and patient and drafts the record; poll ``GET /v1/medical/records/{id}``. Text (JSON ``{"mode":
    "dictation"|"text", "text"}`` or ``{"mode": "consultation", "dialogue": [{"role", "text"}]}``): 201 with the
    record. A text without medical content gives a record without sections and its ``reason``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _record_job(request, audio)
    if content_type == "application/json" or content_type.endswith("+json"):
        return await _text_record(request, audio, engines)
    raise InvalidOptionError(
        "send a recording as multipart/form-data (field 'file') or text as application/json "
        '({"mode": "dictation", "text": "..."})'
    )


async def _record_job(request: Request, audio: AudioRequest) -> JSONResponse:
    form = await request.form(max_files=1, max_fields=20)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidOptionError("send the recording in the multipart field 'file'")
        tenant_id = audio.principal.tenant_id
        medical = MedicalRequest.parse(
            medical_store.new_id(),
            _form_text(form, "mode", "dictation"),
            form_flag(form.get("medical_vocabulary"), "medical_vocabulary"),
            form_flag(form.get("llm_fill"), "llm_fill", default=False),
        )
        hotwords, lists, doctor = (_form_text(form, name) for name in ("hotwords", "hotword_lists", "doctor"))
        with audio.database.session() as session:
            transcription = medical.transcription(session, tenant_id, hotwords, lists, doctor)
        options = {**transcription.to_json(), "medical": medical.to_json()}
        stored = await store_upload(audio, upload)  # type: ignore[arg-type]  # Starlette's: FastAPI's subclasses it

        def add_record(session: Session, job: Job) -> None:
            medical_store.create(session, tenant_id, medical.mode, None, record_id=medical.record_id, job_id=job.id)

        job = await enqueue(audio, stored, upload.filename or "", TASK, options, created=add_record)
    finally:
        await form.close()
    body = {"id": medical.record_id, "object": OBJECT, "status": job.status, "job_id": job.id}
    return JSONResponse(MedicalRecordAccepted(**body).model_dump(), status_code=202)


def _form_text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    if not isinstance(value, str):
        raise InvalidOptionError(f"'{name}' must be a text field, not a file")
    return value


async def _text_record(request: Request, audio: AudioRequest, engines: Engines) -> dict:
    try:
        body = RecordFromText.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    text, dialogue = _checked_text(body)
    audio.limiter.check(audio.principal)
    record = await run_in_threadpool(text_record, body.mode, text, dialogue)
    if body.llm_fill:
        if body.mode != "consultation":
            raise InvalidOptionError("llm_fill applies to mode consultation only")
        queue = await run_in_threadpool(engines.chat_queue)  # the first call loads the model
        chat = partial(queue.chat, str(audio.principal.tenant_id))
        await run_in_threadpool(fill_empty_sections, record, chat)
    characters = len(text) + sum(len(said) for _, said in dialogue)
    with audio.database.session() as session:
        row = medical_store.create(session, audio.principal.tenant_id, body.mode, record.to_dict())
        usage.record(session, audio.principal.tenant_id, TASK, characters=characters)
        return _view(row, None)


def _checked_text(body: RecordFromText) -> tuple[str, list[tuple[str, str]]]:
    """The text or the dialogue turns ``(role, text)`` of a request, checked: the field its mode needs is there
    and not empty, the other is absent, and neither is longer than the limits."""
    if body.mode == "consultation":
        if body.text is not None:
            raise InvalidOptionError("mode consultation takes 'dialogue', not 'text'")
        turns = [(turn.role, turn.text) for turn in body.dialogue or [] if turn.text.strip()]
        if not turns:
            raise InvalidOptionError('dialogue is empty: send the consultation\'s turns as [{"role", "text"}]')
        if len(body.dialogue or []) > MAX_TURNS:
            raise TextTooLongError(f"dialogue has {len(body.dialogue or [])} turns; the limit is {MAX_TURNS}")
        _check_length("dialogue", sum(len(said) for _, said in turns))
        return "", turns
    if body.dialogue is not None:
        raise InvalidOptionError(f"mode {body.mode} takes 'text', not 'dialogue'")
    if not (body.text or "").strip():
        raise InvalidOptionError(f"text is empty: send the {body.mode} in 'text'")
    _check_length("text", len(body.text or ""))
    return body.text or "", []


def _check_length(field: str, characters: int) -> None:
    if characters > MAX_TEXT_CHARS:
        raise TextTooLongError(f"{field} has {characters} characters; the limit is {MAX_TEXT_CHARS}")


# --------------------------------------------------------------------------------------------------------
# Reading, correcting, listing, deleting
# --------------------------------------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite gives the stored UTC time back naive


def _summary(row: StoredMedicalRecord, job: Job | None) -> dict:
    return {
        "id": row.id,
        "object": OBJECT,
        "status": medical_store.status_of(row, job),
        "version": row.version,
        "mode": row.mode,
        "job_id": row.job_id,
        "created_at": _utc(row.created_at).isoformat(),
        "updated_at": _utc(row.updated_at).isoformat(),
    }


def _view(row: StoredMedicalRecord, job: Job | None) -> dict:
    view = _summary(row, job)
    # Through the record type, so a record stored by an older version has today's shape.
    view["record"] = MedicalRecord.from_dict(row.record).to_dict() if row.record is not None else None
    view["error"] = job.error if job is not None and view["status"] == "failed" else None
    return view


_FORMATS = {
    200: {
        "description": "The record: JSON (default), or with ``format`` its FHIR bundle, DOCX or PDF.",
        "content": {
            _MEDIA["fhir"]: {"schema": {"type": "object", "description": "A FHIR R4 Bundle of type document."}},
            _MEDIA["docx"]: {"schema": {"type": "string", "format": "binary"}},
            _MEDIA["pdf"]: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **_NOT_READY,
}
FormatQuery = Annotated[
    Literal["json", "fhir", "docx", "pdf"],
    Query(alias="format", description="json (default), fhir (FHIR R4 document), docx or pdf."),
]


@router.get("/records/{record_id}", response_model=MedicalRecordView, responses=_FORMATS)
def get_record(
    record_id: str, database: DatabaseDep, principal: PrincipalDep, fmt: FormatQuery = "json"
) -> dict | Response:
    """A record: with its status (its job's while the job runs) and version; ``record`` once made, ``error`` if
    its job failed. The FHIR, DOCX and PDF forms are made from the stored record, so they show every correction."""
    with database.session() as session:
        row = medical_store.get(session, principal.tenant_id, record_id)
        if fmt == "json":
            return _view(row, medical_store.job_of(session, row))
        record = MedicalRecord.from_dict(medical_store.ready(row))
    if fmt == "fhir":
        bundle = to_fhir_bundle(record, record_id=row.id, when=_utc(row.updated_at))
        return JSONResponse(bundle, media_type=_MEDIA["fhir"])
    content = render_document(record, fmt)
    disposition = f'attachment; filename="record-{row.id}.{fmt}"'
    return Response(content, media_type=_MEDIA[fmt], headers={"Content-Disposition": disposition})


@router.patch(
    "/records/{record_id}", response_model=MedicalRecordView, responses={**_NOT_READY, **error_responses(413)}
)
def correct_record(record_id: str, body: RecordCorrections, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """Correct a record: each section named in ``sections`` is replaced by one statement of the given text (its
    entities found again; an empty text removes the section; an unknown section name is a 400), and ``confirm``
    marks a draft as confirmed by the doctor. Every correction is a new version."""
    check_sections(body.sections)
    _check_length("sections", sum(len(text) for text in body.sections.values()))
    row = medical_store.get(session, principal.tenant_id, record_id)
    record = MedicalRecord.from_dict(medical_store.ready(row))
    corrected = apply_corrections(record, body.sections, body.confirm)
    return _view(medical_store.correct(session, row, corrected.to_dict()), None)


@router.get("/records", response_model=MedicalRecords)
def list_records(
    session: DbSessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    """The caller's records, newest first (without their content: read one for it)."""
    rows, total = medical_store.page(session, principal.tenant_id, limit, offset)
    data = [_summary(row, medical_store.job_of(session, row)) for row in rows]
    return {"object": "list", "data": data, "total": total, "limit": limit, "offset": offset}


@router.delete("/records/{record_id}", status_code=204)
def delete_record(record_id: str, session: DbSessionDep, principal: PrincipalDep) -> Response:
    """Delete a record (a job still making it is cancelled)."""
    medical_store.delete(session, principal.tenant_id, record_id)
    return Response(status_code=204)


# --------------------------------------------------------------------------------------------------------
# Live dictation
# --------------------------------------------------------------------------------------------------------


class _LiveDictation:
    """The record a live dictation builds: each final fed to a DictationBuilder, stored once."""

    def __init__(self, database: Database, tenant_id: int) -> None:
        self.database, self.tenant_id = database, tenant_id
        self.builder = DictationBuilder()
        self.saved: str | None = None

    def feed(self, final: dict) -> dict:
        """Add a final message's text and times; the record so far."""
        self.builder.feed(final["text"], final["start"], final["end"])
        return self.builder.record().to_dict()

    def save(self, duration: float, only_if_content: bool = False) -> str | None:
        """Store the record (once); its id. With ``only_if_content`` a record without statements is not stored."""
        if self.saved is None:
            record = self.builder.record()
            if only_if_content and record.empty:
                return None
            record.duration = round(duration, 3)
            with self.database.session() as session:
                self.saved = medical_store.create(session, self.tenant_id, "dictation", record.to_dict()).id
        return self.saved


class _DictationSocket(WebSocket):
    """The client's connection as the stream's loop sees it: every ``final`` it sends is followed by the record
    so far, and ``done`` is preceded by ``saved``. It talks through the accepted WebSocket, so both keep the same
    state."""

    def __init__(self, websocket: WebSocket, dictation: _LiveDictation, stream: StreamingSession) -> None:
        super().__init__(websocket.scope, websocket.receive, websocket.send)
        self.client_state, self.application_state = websocket.client_state, websocket.application_state
        self.dictation, self.stream = dictation, stream

    async def send_json(self, data: object, mode: str = "text") -> None:
        """Send ``data``, with the dictation's messages around the stream's ``final`` and ``done``."""
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "done":
            saved = await run_in_threadpool(self.dictation.save, self.stream.audio_seconds)
            await super().send_json({"type": "saved", "id": saved}, mode)
        await super().send_json(data, mode)
        if kind == "final":
            record = await run_in_threadpool(self.dictation.feed, data)
            await super().send_json({"type": "record", "record": record}, mode)


@router.websocket("/dictation")
async def dictation(
    websocket: WebSocket, settings: SettingsDep, database: DatabaseDep, slots: StreamSlotsDep, engines: EnginesDep
) -> None:
    """Live dictation into a record (see the module docstring; protocol and query parameters as
    ``/v1/audio/stream``, plus ``medical_vocabulary``)."""
    await websocket.accept()
    try:
        principal = await run_in_threadpool(authenticate_key, websocket)
        options, sample_rate = stream_options(websocket)
        params = websocket.query_params
        with database.session() as session:
            check_audio(session, principal, 1.0)
            lists = split_commas(params.get("hotword_lists", ""))
            hotwords = hotword_lists.words_for(session, principal.tenant_id, lists, options.hotwords)
        recognition = medical_options(hotwords, form_flag(params.get("medical_vocabulary"), "medical_vocabulary"))
        options.language, options.hotwords, options.vocabulary = "zh", recognition.hotwords, recognition.vocabulary
    except ShengguError as exc:
        await refuse(websocket, exc)
        return
    if not slots.acquire():
        await fail(websocket, "too_many_streams", "the server is at its stream limit; retry later", CLOSE_TRY_LATER)
        return
    live = _LiveDictation(database, principal.tenant_id)
    session: StreamingSession | None = None
    seconds = 0.0
    try:
        recognizer = await run_in_threadpool(engines.recognizer)
        session = StreamingSession(recognizer, options)
        socket = _DictationSocket(websocket, live, session)
        seconds = await serve_frames(socket, session, resampler_to_16k(sample_rate), settings.stream_idle_seconds)
    except ShengguError as exc:
        await refuse(websocket, exc)
    except WebSocketDisconnect:
        log.info("dictation client left", tenant=principal.tenant_name)
    except Exception:
        log.exception("dictation failed")
        await fail(websocket, "internal_error", "internal error; the server log has details", CLOSE_ERROR)
    finally:
        slots.release()
        seconds = seconds or (session.audio_seconds if session is not None else 0.0)
        if live.saved is None:  # the stream broke off: keep what was dictated
            await run_in_threadpool(live.save, seconds, True)
        if seconds:
            with database.session() as db_session:
                usage.record(db_session, principal.tenant_id, STREAM_CAPABILITY, seconds)
            add_audio_seconds(websocket, STREAM_CAPABILITY, seconds)
