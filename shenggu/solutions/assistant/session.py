"""One conversation with the FAQ assistant, independent of any transport: a question (an ASR final's text or
typed text) → retrieval → the reply to show → its speech, chunk by chunk as synthesized."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from shenggu.config import Settings
from shenggu.nlp.faq.retrieval import FaqAnswer, FaqIndex
from shenggu.solutions.assistant.replies import Reply, Voices, reply_for
from shenggu.tts.synthesis import AudioChunk, synthesize

DEFAULT_SAMPLE_RATE = 24000  # answer audio: Kokoro's own rate (Piper's 22.05 kHz is resampled to it)
SOURCES = ("speech", "text")


@dataclass(frozen=True)
class Turn:
    """A question and what the assistant made of it."""

    question: str
    source: str  # speech (an ASR final) or text (typed, or a clarification option chosen)
    result: FaqAnswer
    reply: Reply
    retrieval_s: float


@dataclass
class AssistantSession:
    """A conversation over one knowledge-base index. ``ask`` is quick (milliseconds of retrieval, and
    thread-safe: an early answer may be prepared while another is spoken); ``speak`` yields the reply's audio as
    the TTS produces it, so the first chunk can be played at once, on the engines ``settings`` configure."""

    index: FaqIndex
    voices: Voices = field(default_factory=Voices)
    sample_rate: int = DEFAULT_SAMPLE_RATE
    speed: float = 1.0
    settings: Settings = field(kw_only=True)

    def ask(self, question: str, source: str = "text") -> Turn:
        """Answer one question (in its language: a Mandarin question gets a Mandarin reply)."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        started = time.monotonic()
        result = self.index.answer(question.strip())
        return Turn(question.strip(), source, result, reply_for(result, self.voices), time.monotonic() - started)

    def speak(self, reply: Reply) -> Iterator[AudioChunk]:
        """The reply's speech at ``sample_rate``, chunk by chunk (nothing when there is nothing to say)."""
        if not reply.spoken:
            return
        yield from synthesize(reply.spoken, reply.voice, self.speed, self.sample_rate, settings=self.settings)
