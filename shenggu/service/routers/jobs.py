"""Durable asynchronous jobs: ``/v1/jobs``. The upload is on disk (synced, checksummed) before the 202."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from shenggu.audio import probe_duration
from shenggu.errors import InvalidOptionError
from shenggu.service.auth import current_principal
from shenggu.service.errors import error_responses
from shenggu.service.limits import check_audio
from shenggu.service.storage import jobs
from shenggu.service.storage.tenants import Principal
from shenggu.service.tasks import HotwordListsField, HotwordsField, LanguageField, TaskField, TranscribeRequest
from shenggu.service.uploads import persist_upload
from shenggu.service.worker import job_view

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=error_responses(400, 401, 404, 413, 415, 422, 429))


def _check_callback(url: str | None) -> str | None:
    if url and not url.startswith(("http://", "https://")):
        raise InvalidOptionError("callback_url must be an http:// or https:// URL")
    return url or None


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
    callback_url: Annotated[str, Form(description="http(s) URL that receives the finished job, signed.")] = "",
) -> JSONResponse:
    """Accept a job: 202 with its id once the upload is stored durably."""
    state = request.app.state
    with state.db.session() as session:
        parsed = TranscribeRequest.parse(model, language, prompt, hotwords)
        options = parsed.with_stored_hotwords(session, principal.tenant_id, hotword_lists).to_json()
    callback = _check_callback(callback_url)
    state.rate_limiter.check(principal)
    stored = await run_in_threadpool(
        persist_upload, file, state.settings.data_dir / "uploads", state.settings.max_upload_mb << 20
    )
    try:
        seconds = await run_in_threadpool(probe_duration, stored.path)
        with state.db.session() as session:
            check_audio(session, principal, seconds)
            job = jobs.create(
                session,
                principal.tenant_id,
                task,
                options,
                str(stored.path),
                stored.sha256,
                file.filename or "",
                callback,
                seconds,
            )
    except BaseException:
        stored.path.unlink(missing_ok=True)
        raise
    return JSONResponse({"id": job.id, "object": "job", "status": job.status}, status_code=202)


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
