"""Durable asynchronous jobs: ``/v1/jobs``. The upload is on disk (synced, checksummed) before the 202."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from shenggu.audio import probe_duration
from shenggu.errors import InvalidOptionError
from shenggu.service.auth import current_principal
from shenggu.service.callbacks import DestinationPolicy, check_url
from shenggu.service.errors import error_responses
from shenggu.service.limits import check_audio
from shenggu.service.storage import jobs
from shenggu.service.storage.models import Job
from shenggu.service.storage.tenants import NotFoundError, Principal
from shenggu.service.tasks import (
    AssessRequest,
    AssessTextField,
    DiarizeField,
    DiarizeRequest,
    GlossariesField,
    HotwordListsField,
    HotwordsField,
    LanguageField,
    MaxSpeakersField,
    MinSpeakersField,
    RolesField,
    SpeakerCountField,
    TaskField,
    TranscribeRequest,
    TranslateToField,
)
from shenggu.service.uploads import StoredUpload, persist_upload, upload_errors
from shenggu.service.worker import job_results_dir, job_view
from shenggu.solutions.court.hearing import DEFAULT_ROLES, parse_participants
from shenggu.solutions.court.record import HearingHeader

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=error_responses(400, 401, 404, 413, 415, 422, 429))


def _court_header(case_number: str, court: str, date: str, participants: str) -> HearingHeader:
    if not case_number.strip():
        raise InvalidOptionError("case_number is required for a court_record job")
    return HearingHeader(
        case_number.strip(), court.strip(), date.strip(), participants=parse_participants(participants)
    )


@router.post("", status_code=202)
async def create_job(
    request: Request,
    file: Annotated[UploadFile, File(description="Audio or video file.")],
    principal: Annotated[Principal, Depends(current_principal)],
    task: Annotated[TaskField, Form()] = "transcribe",
    model: Annotated[str, Form()] = "whisper-1",
    language: Annotated[LanguageField, Form()] = "auto",
    prompt: Annotated[str, Form()] = "",
    hotwords: HotwordsField = "",
    hotword_lists: HotwordListsField = "",
    diarize: DiarizeField = False,
    num_speakers: SpeakerCountField = None,
    min_speakers: MinSpeakersField = None,
    max_speakers: MaxSpeakersField = None,
    roles: RolesField = "",
    translate_to: TranslateToField = "",
    glossaries: GlossariesField = "",
    callback_url: Annotated[
        str, Form(description="http(s) URL (public, at most 2048 characters) that receives the finished job, signed.")
    ] = "",
    case_number: Annotated[str, Form(max_length=100, description="court_record: the case number.")] = "",
    court: Annotated[str, Form(max_length=100, description="court_record: the court's name.")] = "",
    hearing_date: Annotated[str, Form(max_length=40, description="court_record: the hearing date.")] = "",
    participants: Annotated[
        str, Form(max_length=2000, description="court_record: role:name pairs, e.g. 审判长:张三,原告:李四.")
    ] = "",
    text: AssessTextField = "",
) -> JSONResponse:
    """Accept a job: 202 with its id once the upload is stored durably.

    ``task=court_record`` produces a hearing record (庭审笔录): diarized with ``roles`` (default
    judge,plaintiff,defendant), with keyword, amount and date indexes; its DOCX, PDF and JSON are at
    ``/v1/jobs/{id}/files/{name}`` once it succeeded. ``task=assess`` scores a reading of ``text`` (``language``
    en or zh), like ``POST /v1/assessments`` for recordings too long to wait for."""
    # Checked before the upload is stored, so a refused request leaves no file behind.
    policy = DestinationPolicy.from_settings(request.app.state.settings)
    callback = check_url(callback_url, policy) if callback_url else None
    court_header = _court_header(case_number, court, hearing_date, participants) if task == "court_record" else None
    if court_header is not None:
        diarize, roles = True, roles or ",".join(DEFAULT_ROLES)
    if task == "assess":
        options = {"assess": asdict(AssessRequest.parse(language, text))}
    else:
        with request.app.state.db.session() as session:
            speakers = DiarizeRequest.parse(num_speakers, min_speakers, max_speakers, roles) if diarize else None
            parsed = TranscribeRequest.parse(model, language, prompt, hotwords, speakers, translate_to)
            options = parsed.with_stored(session, principal.tenant_id, hotword_lists, glossaries).to_json()
    if court_header is not None:
        options["court"] = asdict(court_header)
    stored = await store_upload(request, principal, file)
    job = await enqueue(request, principal, stored, file.filename or "", task, options, callback)
    return JSONResponse({"id": job.id, "object": "job", "status": job.status}, status_code=202)


async def store_upload(request: Request, principal: Principal, file: UploadFile) -> StoredUpload:
    """Check the caller's rate, then store an upload durably (before any 202 is sent)."""
    state = request.app.state
    state.rate_limiter.check(principal)
    return await run_in_threadpool(
        persist_upload, file, state.settings.data_dir / "uploads", state.settings.max_upload_mb << 20
    )


async def enqueue(
    request: Request,
    principal: Principal,
    stored: StoredUpload,
    name: str,
    task: str,
    options: dict,
    callback: str | None = None,
) -> Job:
    """Queue a job for a stored upload after the audio checks (quota, length); the upload is removed if refused."""
    state = request.app.state
    try:
        with upload_errors(stored.path):
            seconds = await run_in_threadpool(probe_duration, stored.path)
        with state.db.session() as session:
            check_audio(session, principal, seconds)
            return jobs.create(
                session, principal.tenant_id, task, options, str(stored.path), stored.sha256, name, callback, seconds
            )
    except BaseException:
        stored.path.unlink(missing_ok=True)
        raise


@router.get("/{job_id}")
def get_job(job_id: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> dict:
    """A job's status, progress, and result or error."""
    with request.app.state.db.session() as session:
        return job_view(jobs.get(session, principal.tenant_id, job_id))


@router.get("")
def list_jobs(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    """The caller's jobs, newest first."""
    with request.app.state.db.session() as session:
        rows, total = jobs.page(session, principal.tenant_id, limit, offset)
        return {"object": "list", "data": [job_view(j) for j in rows], "total": total, "limit": limit, "offset": offset}


@router.delete("/{job_id}")
def cancel_job(job_id: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> dict:
    """Cancel a queued or running job (finished jobs are left as they are)."""
    with request.app.state.db.session() as session:
        return job_view(jobs.cancel(session, principal.tenant_id, job_id))


@router.get("/{job_id}/files/{name}")
def get_job_file(
    job_id: str, name: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> FileResponse:
    """A result file of a finished job (a court record's record.docx, record.pdf, record.json)."""
    with request.app.state.db.session() as session:
        job = jobs.get(session, principal.tenant_id, job_id)
        files = (job.result or {}).get("files", []) if job.status == "succeeded" else []
    if name not in files:
        raise NotFoundError(f"job {job_id[:40]} has no file named '{name[:70]}'")
    path = job_results_dir(request.app.state.settings.data_dir, job.id) / name
    if not path.is_file():
        raise NotFoundError(f"the file '{name[:70]}' of job {job_id[:40]} is gone")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"), filename=name)


_MEDIA = {
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
