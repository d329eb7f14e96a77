"""Speaker labels for a transcript: every word takes the speaker it overlaps most; segments split where the
speaker changes (a one-word blip shorter than ``BLIP_S`` follows its neighbours instead)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from shenggu.asr.postprocess import words_text
from shenggu.asr.types import Segment, Transcript, Word
from shenggu.diarize.pipeline import DiarizeOptions, diarize
from shenggu.diarize.registry import get_speaker_encoder
from shenggu.diarize.roles import assign_roles
from shenggu.diarize.types import Diarization, SpeakerEncoder, SpeakerTurn

BLIP_S = 0.3


def diarize_transcript(
    transcript: Transcript,
    samples: np.ndarray,
    options: DiarizeOptions | None = None,
    roles: Sequence[str] = (),
    voices: dict[str, np.ndarray] | None = None,
    encoder: SpeakerEncoder | None = None,
) -> Transcript:
    """Diarize the recording ``samples`` of ``transcript`` and label its segments and words with speakers and
    roles (``voices``: enrolled embeddings of the roles that name enrolled speakers; ``encoder``: the speaker
    encoder, by default the platform's)."""
    diarization = diarize(samples, encoder or get_speaker_encoder(), options)
    return label_transcript(transcript, diarization, assign_roles(diarization, roles, voices or {}))


def label_transcript(
    transcript: Transcript, diarization: Diarization, roles: dict[str, str] | None = None
) -> Transcript:
    """A copy of ``transcript`` whose segments and words carry speakers (segments cut at speaker changes), and
    whose ``speakers`` lists the diarized speakers with their ``roles`` ("" for a speaker without one)."""
    segments: list[Segment] = []
    for segment in transcript.segments:
        segments.extend(_split(segment, diarization.turns, transcript.language))
    roles = roles or {}
    return replace(transcript, segments=segments, speakers={s: roles.get(s, "") for s in diarization.speakers})


def speaker_at(turns: list[SpeakerTurn], start: float, end: float) -> str | None:
    """The speaker talking most during ``[start, end]``; the nearest turn's when none overlaps."""
    if not turns:
        return None
    overlap: dict[str, float] = {}
    for turn in turns:
        common = min(end, turn.end) - max(start, turn.start)
        if common > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + common
    if overlap:
        return max(overlap, key=overlap.__getitem__)
    middle = (start + end) / 2
    return min(turns, key=lambda t: max(t.start - middle, middle - t.end)).speaker


def _split(segment: Segment, turns: list[SpeakerTurn], language: str) -> list[Segment]:
    if not segment.words:
        return [replace(segment, speaker=speaker_at(turns, segment.start, segment.end))]
    words = [replace(w, speaker=speaker_at(turns, w.start, w.end)) for w in segment.words]
    for i in range(1, len(words) - 1):  # a lone short word between two of another speaker follows them
        before, after = words[i - 1].speaker, words[i + 1].speaker
        if before == after != words[i].speaker and words[i].end - words[i].start < BLIP_S:
            words[i].speaker = before
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.speaker == runs[-1][-1].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [replace(segment, words=words, speaker=words[0].speaker)]
    return [
        replace(segment, start=run[0].start, end=run[-1].end, text=words_text(run, language), words=run,
                speaker=run[0].speaker)
        for run in runs
    ]  # fmt: skip
