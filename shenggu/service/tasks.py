"""The work behind the API, shared by synchronous requests and queued jobs: options in, result dict out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Form
from sqlalchemy.orm import Session

from shenggu.asr.hotwords import split_hotwords
from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.registry import ENGINES, get_recognizer
from shenggu.asr.types import Transcript
from shenggu.errors import InvalidOptionError
from shenggu.service.storage import hotwords as hotword_lists

# OpenAI model names map to the default engine, so unmodified OpenAI clients work.
OPENAI_MODEL_NAMES = {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "default", ""}
# Form-field types: FastAPI documents them as enums and answers 422 for anything else.
LanguageField = Literal["zh", "en", "auto"]
TaskField = Literal["transcribe"]
HotwordsField = Annotated[str, Form(description="Comma-separated names/terms to favour.")]
HotwordListsField = Annotated[
    str,
    Form(description="Comma-separated names of stored hotword lists (/v1/hotwords) to add; 'default' always applies."),
]


@dataclass(frozen=True)
class TranscribeRequest:
    """Validated options of a transcription, storable as JSON for a job."""

    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    hotwords: tuple[str, ...] = ()

    @classmethod
    def parse(cls, model: str | None, language: str | None, prompt: str | None, hotwords: str | list | None):
        """Validate raw request fields (raises InvalidOptionError)."""
        words = tuple(split_hotwords(hotwords or ()))
        request = cls(engine_name(model), language or None, prompt or None, words)
        request.options()  # validates language
        return request

    def with_stored_hotwords(self, session: Session, tenant_id: int, lists: str | None) -> TranscribeRequest:
        """This request with the terms of the named stored lists and of the tenant's default list added."""
        words = hotword_lists.words_for(session, tenant_id, split_hotwords(lists or ""), self.hotwords)
        return replace(self, hotwords=tuple(words))

    def options(self) -> TranscribeOptions:
        """The pipeline options."""
        return TranscribeOptions(language=self.language, initial_prompt=self.prompt, hotwords=list(self.hotwords))

    def to_json(self) -> dict:
        """For the jobs table."""
        return {"model": self.model, "language": self.language, "prompt": self.prompt, "hotwords": list(self.hotwords)}


def engine_name(model: str | None) -> str | None:
    """The engine behind an API ``model`` name (None = the default engine)."""
    if model is None or model in OPENAI_MODEL_NAMES:
        return None
    if model not in ENGINES:
        raise InvalidOptionError(f"unknown model '{model}' (choose from: whisper-1, {', '.join(ENGINES)})")
    return model


def run_transcription(
    path: Path, request: TranscribeRequest, name: str | None, progress: Callable[[float], None] | None = None
) -> Transcript:
    """Transcribe a stored file."""
    return transcribe(path, get_recognizer(request.model), request.options(), progress=progress, name=name)
