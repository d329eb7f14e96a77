"""Speech to text and the catalogues: ``/v1/audio/transcriptions``, ``/v1/audio/translations``, ``/v1/models``,
``/v1/audio/voices``."""

from __future__ import annotations

from typing import Literal

from shenggu.service.schemas import ResponseBody


class Transcription(ResponseBody):
    """``response_format=json``: the text only (OpenAI's shape)."""

    text: str


class WordTiming(ResponseBody):
    """A word and its time span (seconds); ``speaker`` only when diarized."""

    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None


class VerboseSegment(ResponseBody):
    """OpenAI's verbose segment (``tokens``, ``temperature``, ``compression_ratio`` are placeholders), plus its
    words; ``speaker`` only when diarized, the ``translation`` fields only with ``translate_to``."""

    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    speaker: str | None = None
    translation: str | None = None
    translation_needs_review: bool | None = None
    translation_problems: list[str] | None = None
    words: list[WordTiming]


class SpeakerRole(ResponseBody):
    """A speaker label and its role ("" if none)."""

    speaker: str
    role: str


class VerboseTranscription(ResponseBody):
    """``response_format=verbose_json``: ``segments`` unless only word timestamps were asked for, ``words`` when
    they were, ``speakers`` when diarized."""

    task: Literal["transcribe", "translate"]
    language: str
    duration: float
    text: str
    segments: list[VerboseSegment] | None = None
    words: list[WordTiming] | None = None
    speakers: list[SpeakerRole] | None = None


class ModelCard(ResponseBody):
    """An ASR engine, as an OpenAI model."""

    id: str
    object: Literal["model"]
    owned_by: str
    description: str


class ModelList(ResponseBody):
    """The ASR engines (OpenAI's model list)."""

    object: Literal["list"]
    data: list[ModelCard]


class VoiceCard(ResponseBody):
    """A voice: its language, gender, engine and native sample rate."""

    id: str
    language: str
    gender: str
    engine: str
    sample_rate: int
    description: str


class VoiceList(ResponseBody):
    """The speech synthesis voices."""

    data: list[VoiceCard]
