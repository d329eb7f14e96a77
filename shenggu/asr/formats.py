"""Writing a ``Transcript`` as txt, json, srt or vtt."""

from __future__ import annotations

import json

from shenggu.asr.types import Segment, Transcript
from shenggu.errors import InvalidOptionError

FORMATS = ("txt", "json", "srt", "vtt")


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_text(transcript: Transcript, segment: Segment) -> str:
    """A segment's text, after "[speaker] " when the transcript was diarized, and its translation on a second line
    when it was translated (bilingual subtitles)."""
    speaker = transcript.speaker_name(segment)
    text = f"[{speaker}] {segment.text.strip()}" if speaker else segment.text.strip()
    return _with_translation(text, segment)


def _with_translation(text: str, segment: Segment) -> str:
    return f"{text}\n{segment.translation.strip()}" if segment.translation else text


def to_srt(transcript: Transcript) -> str:
    """SubRip subtitles, one cue per segment."""
    cues = [
        f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{_cue_text(transcript, s)}\n"
        for i, s in enumerate(transcript.segments, start=1)
    ]
    return "\n".join(cues)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT subtitles, one cue per segment (the speaker as a voice tag when diarized)."""
    cues = []
    for s in transcript.segments:
        speaker = transcript.speaker_name(s)
        text = _with_translation(f"<v {speaker}>{s.text.strip()}" if speaker else s.text.strip(), s)
        cues.append(f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{text}\n")
    return "WEBVTT\n\n" + "\n".join(cues)


def to_json(transcript: Transcript) -> str:
    """The documented JSON shape (UTF-8 characters kept, not escaped)."""
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2)


def to_txt(transcript: Transcript) -> str:
    """Plain text: one line, or one line per speaker turn ("speaker: text") when diarized."""
    if not transcript.speakers:
        return transcript.text + "\n"
    lines: list[tuple[str | None, str]] = []
    for s in transcript.segments:
        speaker = transcript.speaker_name(s)
        if lines and lines[-1][0] == speaker:
            lines[-1] = (speaker, lines[-1][1] + text_separator(transcript.language) + s.text.strip())
        else:
            lines.append((speaker, s.text.strip()))
    # Segments without a speaker (in a transcript whose others have one) make lines without a label.
    return "".join(f"{speaker}: {text}\n" if speaker else f"{text}\n" for speaker, text in lines)


def text_separator(language: str) -> str:
    """What goes between two segments' texts in a transcript's text: nothing in Mandarin, a space otherwise."""
    return "" if language == "zh" else " "


_WRITERS = {"txt": to_txt, "json": to_json, "srt": to_srt, "vtt": to_vtt}


def check_format(fmt: str) -> str:
    """Return ``fmt`` if it is one of ``FORMATS``, else raise ``InvalidOptionError``."""
    if fmt not in _WRITERS:
        raise InvalidOptionError(f"unknown output format '{fmt}' (choose from: {', '.join(FORMATS)})")
    return fmt


def render(transcript: Transcript, fmt: str) -> str:
    """Render ``transcript`` in one of ``FORMATS``."""
    return _WRITERS[check_format(fmt)](transcript)
