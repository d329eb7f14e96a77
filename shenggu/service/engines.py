"""The engines behind the API, configured by the app's settings. Requests get them as a dependency
(``EnginesDep``), job workers hold their own; each engine is built on first use, once per process and
configuration, so asking is cheap."""

from __future__ import annotations

from collections.abc import Iterator

from shenggu.asr.registry import get_recognizer
from shenggu.asr.types import Recognizer
from shenggu.assess.registry import get_assessor
from shenggu.assess.types import Assessor
from shenggu.config import Settings
from shenggu.diarize.registry import get_speaker_encoder
from shenggu.diarize.types import SpeakerEncoder
from shenggu.llm.chat_queue import ChatQueue, get_chat_queue
from shenggu.scale.serve import (
    remote_assessor,
    remote_recognizer,
    remote_speaker_encoder,
    remote_speech,
)
from shenggu.translate.registry import get_translator
from shenggu.translate.types import Translator
from shenggu.tts.synthesis import WARM_UP_TEXT, synthesize
from shenggu.tts.types import AudioChunk
from shenggu.tts.voices import DEFAULT_VOICES


class Engines:
    """Speech recognition, translation, the language model's queue, assessment, speaker voiceprints and speech
    synthesis, as ``settings`` configure them (threads, model files, the default ASR engine)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def recognizer(self, name: str | None = None) -> Recognizer:
        """The ASR engine called ``name`` (default: the settings' ``asr_engine``); loads it on first use. On a Ray
        cluster (``ray_address``), a stand-in whose decoding runs on the cluster's ASR replicas."""
        if self.settings.ray_address:
            return remote_recognizer(name, self.settings)
        return get_recognizer(name, settings=self.settings)

    def translator(self) -> Translator:
        """The translator (a configured MT model per direction, else the language model)."""
        return get_translator(self.settings)

    def chat_queue(self) -> ChatQueue:
        """The language model's fair queue; loads the model on first use."""
        return get_chat_queue(self.settings)

    def assessor(self, language: str) -> Assessor:
        """The pronunciation assessor of ``language`` (en or zh); on a Ray cluster, a stand-in for its replicas."""
        if self.settings.ray_address:
            return remote_assessor(language, self.settings)
        return get_assessor(language, self.settings)

    def speaker_encoder(self) -> SpeakerEncoder:
        """The speaker encoder of voiceprints and diarization; on a Ray cluster, a stand-in for its replicas."""
        if self.settings.ray_address:
            return remote_speaker_encoder(self.settings)
        return get_speaker_encoder()

    def speak(self, text: str, voice: str, speed: float, sample_rate: int | None) -> Iterator[AudioChunk]:
        """Synthesized speech of ``text`` (plain or SSML), chunk by chunk; checks the request before the first. On a
        Ray cluster, made by the cluster's TTS replicas."""
        if self.settings.ray_address:
            return remote_speech(text, voice, speed, sample_rate, self.settings)
        return synthesize(text, voice, speed, sample_rate, settings=self.settings)

    def warm_speech(self) -> None:
        """Load the default voices' engines (here or on the cluster) and speak a word with each (an ONNX session's
        first run is the slowest), so the first speech request is as fast as the rest."""
        for language, voice in DEFAULT_VOICES.items():
            for _ in self.speak(WARM_UP_TEXT[language], voice, 1.0, None):
                pass
