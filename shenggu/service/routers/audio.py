"""OpenAI-compatible speech-to-text: ``POST /v1/audio/transcriptions`` and ``GET /v1/models``."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from shenggu.asr.formats import render
from shenggu.asr.registry import list_engines
from shenggu.asr.types import Transcript
from shenggu.audio.decode import SAMPLE_RATE, decode_audio
from shenggu.errors import InvalidOptionError
from shenggu.service.audio_requests import AudioRequest, AudioRequestDep
from shenggu.service.deps import EnginesDep
from shenggu.service.engines import Engines
from shenggu.service.errors import error_responses
from shenggu.service.schemas.audio import ModelList, Transcription, VerboseTranscription
from shenggu.service.tasks import (
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
    TranscribeRequest,
    TranslateToField,
    engine_name,
    run_transcription,
)

WHISPER_TRANSLATE_MAX_SECONDS = 3600.0
# A segment's translation (with ``translate_to``), as in the JSON of jobs: verbose_json carries it too.
TRANSLATION_KEYS = ("translation", "translation_needs_review", "translation_problems")
router = APIRouter(prefix="/v1", tags=["audio"], responses=error_responses(400, 401, 404, 413, 415, 422, 429))

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
# JSON for json and verbose_json, text for text, srt and vtt.
TRANSCRIPT_RESPONSES: dict[int | str, dict] = {
    200: {
        "model": Transcription | VerboseTranscription,
        "description": "The transcript in the requested response_format.",
        "content": {media: {"schema": {"type": "string"}} for media in ("text/plain", "text/srt", "text/vtt")},
    }
}


@router.post("/audio/transcriptions", response_model=None, responses=TRANSCRIPT_RESPONSES)
async def create_transcription(
    audio: AudioRequestDep,
    engines: EnginesDep,
    file: Annotated[UploadFile, File(description="Audio or video file.")],
    model: Annotated[str, Form()] = "whisper-1",
    language: Annotated[LanguageField, Form()] = "auto",
    prompt: Annotated[str, Form()] = "",
    response_format: Annotated[ResponseFormat, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
    timestamp_granularities: Annotated[
        list[Literal["word", "segment"]] | None, Form(alias="timestamp_granularities[]")
    ] = None,
    hotwords: HotwordsField = "",
    hotword_lists: HotwordListsField = "",
    diarize: DiarizeField = False,
    num_speakers: SpeakerCountField = None,
    min_speakers: MinSpeakersField = None,
    max_speakers: MaxSpeakersField = None,
    roles: RolesField = "",
    translate_to: TranslateToField = "",
    glossaries: GlossariesField = "",
) -> Response:
    """Transcribe an uploaded file (multipart), answering in the requested format."""
    granularities = set(timestamp_granularities or ["segment"])
    with audio.database.session() as session:
        speakers = DiarizeRequest.parse(num_speakers, min_speakers, max_speakers, roles) if diarize else None
        parsed = TranscribeRequest.parse(model, language, prompt, hotwords, speakers, translate_to)
        task = parsed.with_stored(session, audio.principal.tenant_id, hotword_lists, glossaries)
    transcript = await _run_upload(audio, engines, file, task, "transcribe")
    return _respond(transcript, response_format, granularities, "transcribe")


@router.post("/audio/translations", response_model=None, responses=TRANSCRIPT_RESPONSES)
async def create_audio_translation(
    audio: AudioRequestDep,
    engines: EnginesDep,
    file: Annotated[UploadFile, File(description="Audio or video file (Mandarin or English speech).")],
    model: Annotated[str, Form()] = "whisper-1",
    prompt: Annotated[str, Form()] = "",
    response_format: Annotated[ResponseFormat, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
    glossaries: GlossariesField = "",
    translator: Annotated[
        Literal["checked", "whisper"],
        Form(
            description="checked (default): recognize, then translate every segment with the self-checked "
            "translator; whisper: Whisper's own translate task (no glossary, no checks), to compare."
        ),
    ] = "checked",
) -> Response:
    """OpenAI's speech translation: the speech in English. shenggu recognizes it, then translates every segment
    with the self-checked translator (segments keep their times; ``verbose_json`` segments carry
    ``translation_needs_review``)."""
    if translator == "whisper":
        recognizer = engines.recognizer(engine_name(model))
        if not hasattr(recognizer, "translate_speech"):
            raise InvalidOptionError(f"the {recognizer.name} engine has no translate task")

        def whisper_translation(path) -> Transcript:
            samples = decode_audio(path, max_seconds=WHISPER_TRANSLATE_MAX_SECONDS)  # decoded whole: bounded
            segments = recognizer.translate_speech(samples)
            text = " ".join(s.text for s in segments)
            return Transcript(text=text, language="en", duration=len(samples) / SAMPLE_RATE, segments=segments)

        english, _ = await audio.run_on_upload(file, "speech_translation", whisper_translation)
        audio.meter("speech_translation", english.duration)
        return _respond(english, response_format, {"segment"}, "translate")
    with audio.database.session() as session:
        parsed = TranscribeRequest.parse(model, None, prompt, "", None, "en")
        task = parsed.with_stored(session, audio.principal.tenant_id, "", glossaries)
    transcript = await _run_upload(audio, engines, file, task, "speech_translation")
    english = replace(
        transcript,
        language="en",
        text=" ".join(s.translation or "" for s in transcript.segments if s.translation).strip(),
        segments=[replace(s, text=s.translation or "", translation=None, words=[]) for s in transcript.segments],
    )
    return _respond(english, response_format, {"segment"}, "translate")


async def _run_upload(
    audio: AudioRequest, engines: Engines, file: UploadFile, task: TranscribeRequest, capability: str
) -> Transcript:
    """Recognize (and diarize / translate, as ``task`` says) an upload, with limits and metering."""
    transcript, _ = await audio.run_on_upload(
        file, capability, lambda path: run_transcription(path, task, file.filename, engines)
    )
    audio.meter(capability, transcript.duration)
    return transcript


def _respond(transcript: Transcript, response_format: str, granularities: set[str], task: str) -> Response:
    if response_format == "json":
        return JSONResponse({"text": transcript.text})
    if response_format == "verbose_json":
        return JSONResponse({**_verbose(transcript, granularities), "task": task})
    media = "text/plain" if response_format == "text" else f"text/{response_format}"
    fmt = "txt" if response_format == "text" else response_format
    return PlainTextResponse(render(transcript, fmt), media_type=f"{media}; charset=utf-8")


def _verbose(transcript: Transcript, granularities: set[str]) -> dict:
    """OpenAI's verbose_json shape, plus per-segment words for convenience."""
    data = transcript.to_dict()
    body: dict = {
        "task": "transcribe",
        "language": transcript.language,
        "duration": data["duration"],
        "text": transcript.text,
    }
    if "segment" in granularities:
        body["segments"] = [
            {
                "id": i,
                "seek": 0,
                "start": s["start"],
                "end": s["end"],
                "text": s["text"],
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": round(seg.avg_logprob, 4),
                "compression_ratio": 0.0,
                "no_speech_prob": round(seg.no_speech_prob, 4),
                **({"speaker": s["speaker"]} if "speaker" in s else {}),
                **{key: s[key] for key in TRANSLATION_KEYS if key in s},
                "words": s["words"],
            }
            for i, (s, seg) in enumerate(zip(data["segments"], transcript.segments, strict=True))
        ]
    if "word" in granularities:
        body["words"] = [
            {key: w[key] for key in ("word", "start", "end", "probability", "speaker") if key in w}
            for s in data["segments"]
            for w in s["words"]
        ]
    if "speakers" in data:
        body["speakers"] = data["speakers"]
    return body


@router.get("/models", response_model=ModelList)
async def list_models() -> dict:
    """The engines, as an OpenAI-style model list."""
    return {
        "object": "list",
        "data": [
            {"id": e.name, "object": "model", "owned_by": "shenggu", "description": e.description}
            for e in list_engines()
        ],
    }
