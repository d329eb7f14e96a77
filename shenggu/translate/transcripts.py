"""Speech translation: a transcript's segments translated one by one, so every translation keeps its segment's
times (bilingual subtitles), each checked like any translation (problems kept on the segment)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from shenggu.asr.types import Transcript
from shenggu.errors import InvalidOptionError
from shenggu.translate.pipeline import translate_texts
from shenggu.translate.types import Translator

LANGUAGES = ("en", "zh")


def translate_transcript(
    transcript: Transcript,
    target: str,
    engine: Translator,
    glossary: Mapping[str, str] | None = None,
    tenant: str = "",
) -> Transcript:
    """A copy of ``transcript`` whose segments carry ``translation`` into ``target`` (en or zh); a segment already
    in the target language is copied as it is."""
    if target not in LANGUAGES:
        raise InvalidOptionError(f"translation target must be en or zh, not '{target[:20]}'")
    if transcript.language == target:
        return replace(transcript, segments=[replace(s, translation=s.text) for s in transcript.segments])
    direction = f"{transcript.language}-{target}"
    spoken = [i for i, s in enumerate(transcript.segments) if s.text.strip()]
    results = translate_texts([transcript.segments[i].text for i in spoken], direction, engine, glossary, tenant)
    segments = list(transcript.segments)
    for i, result in zip(spoken, results, strict=True):
        problems = [p for s in result.sentences for p in s.problems]
        segments[i] = replace(segments[i], translation=result.text, translation_problems=problems)
    return replace(transcript, segments=segments)
