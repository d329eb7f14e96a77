"""Writing a ``Transcript`` as txt, json, srt or vtt."""

from __future__ import annotations

import json

from shenggu.asr.types import Transcript
from shenggu.errors import InvalidOptionError

FORMATS = ("txt", "json", "srt", "vtt")


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(transcript: Transcript) -> str:
    """SubRip subtitles, one cue per segment."""
    cues = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{s.text.strip()}\n"
        for i, s in enumerate(transcript.segments, start=1)
    ]
    return "\n".join(cues)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT subtitles, one cue per segment."""
    cues = [f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text.strip()}\n" for s in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def to_json(transcript: Transcript) -> str:
    """The documented JSON shape (UTF-8 characters kept, not escaped)."""
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2)


def to_txt(transcript: Transcript) -> str:
    """Plain text, one line."""
    return transcript.text + "\n"


_WRITERS = {"txt": to_txt, "json": to_json, "srt": to_srt, "vtt": to_vtt}


def check_format(fmt: str) -> str:
    """Return ``fmt`` if it is one of ``FORMATS``, else raise ``InvalidOptionError``."""
    if fmt not in _WRITERS:
        raise InvalidOptionError(f"unknown output format '{fmt}' (choose from: {', '.join(FORMATS)})")
    return fmt


def render(transcript: Transcript, fmt: str) -> str:
    """Render ``transcript`` in one of ``FORMATS``."""
    return _WRITERS[check_format(fmt)](transcript)
