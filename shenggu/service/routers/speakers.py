"""A tenant's enrolled voices: ``/v1/speakers`` (enroll, list, delete) and verification of a clip against one.

Enroll a voice once (the judge, the clerk, an agent) and name it in ``roles`` when transcribing with
``diarize=true``: the speaker whose voice matches gets that role. Enrolling the same name again adds the clip to
the voiceprint (weighted by speech time), which makes it more robust.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from shenggu.audio.decode import decode_audio
from shenggu.diarize.types import SpeakerEncoder
from shenggu.diarize.voiceprint import VERIFY_THRESHOLD, Voiceprint, verify, voiceprint
from shenggu.service.audio_requests import AudioRequest, AudioRequestDep
from shenggu.service.deps import DatabaseDep, DbSessionDep, EnginesDep, PrincipalDep
from shenggu.service.errors import error_responses
from shenggu.service.schemas.speakers import EnrolledSpeaker, EnrolledSpeakers, Verification
from shenggu.service.storage import speakers
from shenggu.service.storage.models import Speaker

router = APIRouter(
    prefix="/v1/speakers", tags=["speakers"], responses=error_responses(400, 401, 404, 413, 415, 422, 429)
)

MAX_CLIP_SECONDS = 300.0  # an enrollment or verification clip; longer audio belongs to diarization


def _view(row: Speaker) -> dict:
    return {
        "name": row.name,
        "clips": row.clips,
        "seconds": round(row.seconds, 2),
        "updated_at": row.updated_at.isoformat(),
    }


async def _clip_voiceprint(
    audio: AudioRequest, file: UploadFile, encoder: Callable[[], SpeakerEncoder]
) -> tuple[Voiceprint, float]:
    """The voiceprint of an uploaded clip (limits and metering as for any audio), and its duration."""
    print_, seconds = await audio.run_on_upload(file, "speaker", lambda path: _voiceprint_of_file(path, encoder))
    audio.meter("speaker", seconds)
    return print_, seconds


def _voiceprint_of_file(path: Path, encoder: Callable[[], SpeakerEncoder]) -> Voiceprint:
    return voiceprint(decode_audio(path, max_seconds=MAX_CLIP_SECONDS), encoder())


@router.post("", status_code=201, response_model=EnrolledSpeaker)
async def enroll_speaker(
    audio: AudioRequestDep,
    engines: EnginesDep,
    database: DatabaseDep,
    principal: PrincipalDep,
    name: Annotated[str, Form(description="The voice's name, e.g. 张法官 or judge.", max_length=64)],
    file: Annotated[UploadFile, File(description="A clip of this speaker alone (at least 1 s of speech).")],
) -> dict:
    """Enroll a voice (or add a clip to an enrolled one)."""
    speakers.check_name(name)
    print_, _ = await _clip_voiceprint(audio, file, engines.speaker_encoder)
    with database.session() as session:
        return _view(speakers.enroll(session, principal.tenant_id, name, print_))


@router.get("", response_model=EnrolledSpeakers)
def list_speakers(session: DbSessionDep, principal: PrincipalDep) -> dict:
    """The caller's enrolled voices."""
    return {"data": [_view(row) for row in speakers.list_all(session, principal.tenant_id)]}


@router.get("/{name}", response_model=EnrolledSpeaker)
def get_speaker(name: str, session: DbSessionDep, principal: PrincipalDep) -> dict:
    """One enrolled voice."""
    return _view(speakers.get(session, principal.tenant_id, name))


@router.delete("/{name}", status_code=204)
def delete_speaker(name: str, session: DbSessionDep, principal: PrincipalDep) -> Response:
    """Remove an enrolled voice."""
    speakers.delete(session, principal.tenant_id, name)
    return Response(status_code=204)


@router.post("/{name}/verify", response_model=Verification)
async def verify_speaker(
    name: str,
    audio: AudioRequestDep,
    engines: EnginesDep,
    database: DatabaseDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="A clip to compare with the enrolled voice.")],
    threshold: Annotated[
        float, Form(ge=-1.0, le=1.0, description="Stricter or looser than the calibrated default.")
    ] = VERIFY_THRESHOLD,
) -> dict:
    """Is this clip the enrolled speaker? ``score`` is the cosine similarity of the voices; ``match`` is
    ``score >= threshold`` (default: the equal-error-rate point measured on real recordings, 0.64; raise it
    where a false accept costs more than a false reject)."""
    with database.session() as session:
        enrolled = speakers.voiceprint_of(speakers.get(session, principal.tenant_id, name))
    print_, _ = await _clip_voiceprint(audio, file, engines.speaker_encoder)
    result = verify(enrolled, print_.embedding, threshold)
    return {"name": name, "score": result.score, "threshold": result.threshold, "match": result.match}
