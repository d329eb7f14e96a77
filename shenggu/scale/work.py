"""One archive file's transcription, the same wherever it runs: a thread of this process or a Ray worker.

:func:`transcribe_file` never raises: one bad file must not end a batch, and an exception crossing a process
boundary would lose its error code. Models load once per process (the recognizer registry keeps them), so a Ray
worker that runs many files loads Whisper once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from shenggu.asr.formats import render
from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.registry import get_recognizer
from shenggu.config import get_settings
from shenggu.errors import ShengguError, error_info
from shenggu.logs import get_logger

log = get_logger("shenggu.scale")


@dataclass(frozen=True)
class BatchOptions:
    """How every file of a batch is transcribed and written (picklable: it travels to Ray workers)."""

    fmt: str = "json"  # txt, json, srt or vtt
    language: str = "auto"
    engine: str | None = None
    model_dir: str | None = None  # on a cluster: a path that exists on every worker
    beam_size: int = 5
    correct: bool = True
    hotwords: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileOutcome:
    """A file's rendered transcript, or why it failed (``error_code`` as in the API's errors)."""

    name: str
    text: str | None
    audio_seconds: float = 0.0
    elapsed_s: float = 0.0
    error_code: str = ""
    error_message: str = ""

    @property
    def ok(self) -> bool:
        """Whether the file was transcribed."""
        return self.text is not None

    @classmethod
    def failed(cls, name: str, exc: BaseException, elapsed_s: float = 0.0) -> FileOutcome:
        """The outcome of a file whose work raised ``exc`` (logged with its traceback unless it is one of
        shenggu's own errors, which say what was wrong with the file)."""
        if not isinstance(exc, ShengguError):
            log.error("archive file failed", file=name, error=type(exc).__name__)
        code, message = error_info(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
        return cls(name, None, 0.0, elapsed_s, code, message)


def transcribe_file(source: bytes | str, name: str, options: BatchOptions) -> FileOutcome:
    """Transcribe one recording (its bytes, or a path readable where this runs) and render it in ``options.fmt``."""
    started = time.perf_counter()
    try:
        settings = get_settings()
        recognizer = get_recognizer(options.engine, options.model_dir, settings=settings)
        transcribe_options = TranscribeOptions(
            language=options.language,
            hotwords=list(options.hotwords),
            beam_size=options.beam_size,
            correct=options.correct,
        ).batched_as(settings)
        audio = source if isinstance(source, bytes) else Path(source)
        transcript = transcribe(audio, recognizer, transcribe_options, name=name)
        text = render(transcript, options.fmt)
    except Exception as exc:  # one file's failure is its outcome, never the batch's end
        return FileOutcome.failed(name, exc, time.perf_counter() - started)
    return FileOutcome(name, text, transcript.duration, time.perf_counter() - started)
