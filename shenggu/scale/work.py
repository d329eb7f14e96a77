"""One archive file's transcription, the same wherever it runs: a thread of this process or a Ray worker.

:func:`transcribe_file` never raises: one bad file must not end a batch, and an exception crossing a process
boundary would lose its error code. Models load once per process (the recognizer registry keeps them), so a Ray
worker that runs many files loads Whisper once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
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
    engine: str | None = None
    model_dir: str | None = None  # on a cluster: a path that exists on every worker
    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)  # batching comes from each worker


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
    def failed(cls, name: str, exc: Exception, elapsed_s: float = 0.0) -> FileOutcome:
        """The outcome of a file whose work raised ``exc`` (call it while handling ``exc``: the traceback is logged
        unless it is one of shenggu's own errors, which say what was wrong with the file)."""
        if not isinstance(exc, ShengguError):
            log.exception("archive file failed", file=name)
        code, message = error_info(exc)
        return cls(name, None, 0.0, elapsed_s, code, message)


def transcribe_file(source: bytes | str, name: str, options: BatchOptions) -> FileOutcome:
    """Transcribe one recording (its bytes, or a path readable where this runs) and render it in ``options.fmt``."""
    started = time.perf_counter()
    try:
        settings = get_settings()
        recognizer = get_recognizer(options.engine, options.model_dir, settings=settings)
        audio = source if isinstance(source, bytes) else Path(source)
        transcript = transcribe(audio, recognizer, options.transcribe.batched_as(settings), name=name)
        text = render(transcript, options.fmt)
    except Exception as exc:  # one file's failure is its outcome, never the batch's end
        return FileOutcome.failed(name, exc, time.perf_counter() - started)
    return FileOutcome(name, text, transcript.duration, time.perf_counter() - started)
