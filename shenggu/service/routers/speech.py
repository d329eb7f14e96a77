"""OpenAI-compatible speech synthesis: ``POST /v1/audio/speech`` (streamed) and ``GET /v1/audio/voices``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shenggu.audio.encode import MEDIA_TYPES, StreamingEncoder
from shenggu.errors import InvalidOptionError
from shenggu.service.deps import DatabaseDep, EnginesDep, PrincipalDep, RateLimiterDep
from shenggu.service.errors import error_responses
from shenggu.service.limits import check_characters
from shenggu.service.observability import add_audio_seconds
from shenggu.service.schemas.audio import VoiceList
from shenggu.service.storage import usage
from shenggu.tts.synthesis import MAX_CHARS, AudioChunk, output_rate
from shenggu.tts.voices import OPENAI_RATE, OPENAI_VOICES, VOICES

router = APIRouter(prefix="/v1/audio", tags=["speech"], responses=error_responses(400, 401, 422, 429))

# OpenAI's model names all mean "the default engines"; the engine follows from the voice.
SPEECH_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "shenggu-tts")


class SpeechRequest(BaseModel):
    """OpenAI's speech request, plus ``sample_rate`` (output rate; default the voice's own)."""

    model_config = ConfigDict(extra="ignore")  # e.g. OpenAI's `instructions`, which these engines cannot follow

    model: str = "tts-1"
    input: str = Field(min_length=1, max_length=MAX_CHARS, description="Plain text or SSML (<speak>…</speak>).")
    voice: str = Field("zf_xiaoxiao", description="A voice id from GET /v1/audio/voices, or an OpenAI voice name.")
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    sample_rate: int | None = Field(None, ge=8000, le=48000)


@router.get("/voices", response_model=VoiceList)
def list_voices(_: PrincipalDep) -> dict:
    """The voices, with language, gender, engine and native sample rate."""
    return {"data": [voice.to_dict() for voice in VOICES.values()]}


@router.post(
    "/speech", response_class=StreamingResponse, responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}}
)
async def create_speech(
    body: SpeechRequest,
    request: Request,
    engines: EnginesDep,
    database: DatabaseDep,
    limiter: RateLimiterDep,
    principal: PrincipalDep,
) -> StreamingResponse:
    """Synthesize speech, streamed as it is produced (chunked transfer). Metered by characters (the daily quota's
    unit) and by the seconds of audio sent."""
    if body.model not in SPEECH_MODELS:
        raise InvalidOptionError(f"unknown model '{body.model[:40]}' (choose from: {', '.join(SPEECH_MODELS)})")
    limiter.check(principal)
    characters = len(body.input)
    with database.session() as session:
        check_characters(session, principal, characters)
    # OpenAI's raw PCM is 24 kHz whatever the voice: an OpenAI voice name gets that rate unless told otherwise.
    sample_rate = body.sample_rate or (OPENAI_RATE if body.voice in OPENAI_VOICES else None)
    chunks = engines.speak(body.input, body.voice, body.speed, sample_rate)
    # The first piece is made before answering, so bad input is a 4xx rather than a broken stream.
    first = await run_in_threadpool(_next, chunks)
    if first is None:
        raise InvalidOptionError("input has nothing to say (no speakable text)")
    with database.session() as session:
        usage.record(session, principal.tenant_id, "speech", characters=characters)

    def meter(seconds: float) -> None:  # the request itself was counted above, with its characters
        with database.session() as session:
            usage.record(session, principal.tenant_id, "speech", seconds, requests=0)
        add_audio_seconds(request, "speech", seconds)

    encoder = StreamingEncoder(body.response_format, output_rate(body.voice, sample_rate))
    return StreamingResponse(_encoded(first, chunks, encoder, meter), media_type=MEDIA_TYPES[body.response_format])


def _next(chunks: Iterator[AudioChunk]) -> AudioChunk | None:
    return next(chunks, None)


async def _encoded(
    first: AudioChunk, chunks: Iterator[AudioChunk], encoder: StreamingEncoder, meter: Callable[[float], None]
) -> AsyncIterator[bytes]:
    """The encoded stream; the seconds of audio made are metered when it ends, also when the client goes away."""
    seconds = first.seconds
    try:
        yield encoder.encode(first.samples)
        while (chunk := await run_in_threadpool(_next, chunks)) is not None:
            seconds += chunk.seconds
            yield encoder.encode(chunk.samples)
        yield encoder.finish()
    finally:
        meter(seconds)
