"""Durable asynchronous jobs: ``/v1/jobs``. The upload is on disk (synced, checksummed) before the 202."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shenggu.audio import probe_duration
from shenggu.diarize.roles import parse_roles
from shenggu.errors import InvalidOptionError
from shenggu.service.audio_requests import AudioRequest, AudioRequestDep
from shenggu.service.callbacks import DestinationPolicy, check_url
from shenggu.service.deps import DbSessionDep, PrincipalDep, SettingsDep
from shenggu.service.errors import error_responses
from shenggu.service.limits import check_audio
from shenggu.service.schemas.jobs import Job as JobView
from shenggu.service.schemas.jobs import JobAccepted, Jobs
from shenggu.service.storage import jobs
from shenggu.service.storage.models import Job
from shenggu.service.storage.tenants import NotFoundError
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
from shenggu.solutions.court.hearing import DEFAULT_ROLES, hearing_speakers, parse_participants
from shenggu.solutions.court.record import HearingHeader

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=error_responses(400, 401, 404, 413, 415, 422, 429))


def _court_header(case_number: str, court: str, date: str, participants: str) -> HearingHeader:
    if not case_number.strip():
        raise InvalidOptionError("case_number is required for a court_record job")
    return HearingHeader(
        case_number.strip(), court.strip(), date.strip(), participants=parse_participants(participants)
    )


@router.post("", status_code=202, response_model=JobAccepted)
async def create_job(
    audio: AudioRequestDep,
    file: Annotated[UploadFile, File(description="Audio or video file.")],
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
) -> dict:
    """Accept a job: 202 with its id once the upload is stored durably.

    ``task=court_record`` produces a hearing record (庭审笔录): diarized with ``roles`` (default
    judge,plaintiff,defendant), with keyword, amount and date indexes; its DOCX, PDF and JSON are at
    ``/v1/jobs/{id}/files/{name}`` once it succeeded. ``task=assess`` scores a reading of ``text`` (``language``
    en or zh), like ``POST /v1/assessments`` for recordings too long to wait for."""
    # Checked before the upload is stored, so a refused request leaves no file behind.
    policy = DestinationPolicy.from_settings(audio.settings)
    callback = check_url(callback_url, policy) if callback_url else None
    court_header = _court_header(case_number, court, hearing_date, participants) if task == "court_record" else None
    if court_header is not None:
        diarize, roles = True, roles or ",".join(DEFAULT_ROLES)
        known = hearing_speakers(parse_roles(roles), num_speakers, min_speakers, max_speakers)
        num_speakers, min_speakers, max_speakers = known.num_speakers, known.min_speakers, known.max_speakers
    if task == "assess":
        options = {"assess": asdict(AssessRequest.parse(language, text))}
    else:
        with audio.database.session() as session:
            speakers = DiarizeRequest.parse(num_speakers, min_speakers, max_speakers, roles) if diarize else None
            parsed = TranscribeRequest.parse(model, language, prompt, hotwords, speakers, translate_to)
            options = parsed.with_stored(session, audio.principal.tenant_id, hotword_lists, glossaries).to_json()
    if court_header is not None:
        options["court"] = asdict(court_header)
    stored = await store_upload(audio, file)
    job = await enqueue(audio, stored, file.filename or "", task, options, callback)
    return accepted(job)


def accepted(job: Job) -> dict:
    """The 202 answer of a queued job."""
    return {"id": job.id, "object": "job", "status": job.status}


async def store_upload(audio: AudioRequest, file: UploadFile) -> StoredUpload:
    """Check the caller's rate, then store an upload durably (before any 202 is sent)."""
    audio.limiter.check(audio.principal)
    settings = audio.settings
    return await run_in_threadpool(persist_upload, file, settings.data_dir / "uploads", settings.max_upload_mb << 20)


async def enqueue(
    audio: AudioRequest,
    stored: StoredUpload,
    name: str,
    task: str,
    options: dict,
    callback: str | None = None,
    created: Callable[[Session, Job], object] | None = None,
) -> Job:
    """Queue a job for a stored upload after the audio checks (quota, length); the upload is removed if refused.
    ``created(session, job)`` stores what belongs to the job in the job's own transaction, so no worker can take
    the job before it is there."""
    principal = audio.principal
    try:
        with upload_errors(stored.path):
            seconds = await run_in_threadpool(probe_duration, stored.path)
        with audio.database.session() as session:
            check_audio(session, principal, seconds)
            job = jobs.create(
                session, principal.tenant_id, task, options, str(stored.path), stored.sha256, name, callback, seconds
            )
            if created is not None:
                created(session, job)
            return job
    except BaseException:
        stored.path.unlink(missing_ok=True)
        raise


# A job's "callback" key is there only when it has a callback: the answer has the keys the view has.
@router.get("/{job_id}", response_model=JobView, response_model_exclude_unset=True)
def get_job(job_id: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """A job's status, progress, and result or error."""
    return job_view(jobs.get(session, principal.tenant_id, job_id))


@router.get("", response_model=Jobs, response_model_exclude_unset=True)
def list_jobs(
    session: DbSessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    """The caller's jobs, newest first."""
    rows, total = jobs.page(session, principal.tenant_id, limit, offset)
    return {"object": "list", "data": [job_view(j) for j in rows], "total": total, "limit": limit, "offset": offset}


@router.delete("/{job_id}", response_model=JobView, response_model_exclude_unset=True)
def cancel_job(job_id: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """Cancel a queued or running job (finished jobs are left as they are)."""
    return job_view(jobs.cancel(session, principal.tenant_id, job_id))


_MEDIA = {
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_FILE_RESPONSE = {
    200: {
        "description": "The file.",
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in _MEDIA.values()},
    }
}


@router.get("/{job_id}/files/{name}", response_class=FileResponse, responses=_FILE_RESPONSE)
def get_job_file(
    job_id: str, name: str, session: DbSessionDep, settings: SettingsDep, principal: PrincipalDep
) -> FileResponse:
    """A result file of a finished job (a court record's record.docx, record.pdf, record.json)."""
    job = jobs.get(session, principal.tenant_id, job_id)
    files = (job.result or {}).get("files", []) if job.status == "succeeded" else []
    if name not in files:
        raise NotFoundError(f"job {job_id[:40]} has no file named '{name[:70]}'")
    path = job_results_dir(settings.data_dir, job.id) / name
    if not path.is_file():
        raise NotFoundError(f"the file '{name[:70]}' of job {job_id[:40]} is gone")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"), filename=name)
