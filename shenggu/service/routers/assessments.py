"""Pronunciation assessment: ``POST /v1/assessments`` — a reading of a known text scored at once, or as a job
when the recording is long."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from shenggu.audio import probe_duration
from shenggu.service.audio_requests import AudioRequestDep
from shenggu.service.deps import EnginesDep
from shenggu.service.errors import error_responses
from shenggu.service.limits import check_audio
from shenggu.service.routers.jobs import accepted, enqueue, store_upload
from shenggu.service.schemas.assessments import Assessment
from shenggu.service.schemas.jobs import JobAccepted
from shenggu.service.tasks import AssessRequest, AssessTextField, run_assessment
from shenggu.service.uploads import upload_errors

router = APIRouter(prefix="/v1", tags=["assessment"], responses=error_responses(400, 401, 404, 413, 415, 422, 429))

SYNC_SECONDS = 60.0  # longer readings become a job: nobody should hold a connection open for minutes


# An English word has "phones", a Mandarin one "syllables": the answer has the keys the assessment has.
@router.post(
    "/assessments",
    response_model=Assessment,
    response_model_exclude_unset=True,
    responses={202: {"model": JobAccepted, "description": "Queued as a job (recordings over 60 s)"}},
)
async def create_assessment(
    audio: AudioRequestDep,
    engines: EnginesDep,
    file: Annotated[UploadFile, File(description="A recording of the text being read aloud.")],
    text: AssessTextField,
    language: Annotated[Literal["en", "zh"], Form()] = "en",
) -> dict | Response:
    """Score a reading: utterance accuracy, fluency, completeness, prosodic and total (0-100), each word with its
    error type and its phones (English) or syllables with tones (Mandarin). Recordings over 60 s are queued as
    a job (202 with its id; poll ``/v1/jobs/{id}``)."""
    parsed = AssessRequest.parse(language, text)
    stored = await store_upload(audio, file)
    try:
        with upload_errors(stored.path):
            seconds = await run_in_threadpool(probe_duration, stored.path) or 0.0
    except BaseException:
        stored.path.unlink(missing_ok=True)
        raise
    if seconds > SYNC_SECONDS:  # the job owns the stored upload from here (enqueue removes it if refused)
        job = await enqueue(audio, stored, file.filename or "", "assess", {"assess": asdict(parsed)})
        return JSONResponse(accepted(job), status_code=202)
    try:
        with audio.database.session() as session:
            check_audio(session, audio.principal, seconds)
        with upload_errors(stored.path):
            assessment = await audio.run_metered(
                "assess", lambda path: run_assessment(path, parsed, engines), stored.path
            )
    finally:
        stored.path.unlink(missing_ok=True)
    audio.meter("assess", assessment.duration)
    return assessment.to_dict()
