"""A hearing recording in, its record out: recognition → diarization with roles → record → exports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.types import Recognizer
from shenggu.audio.decode import decode_audio
from shenggu.diarize.assign import diarize_transcript
from shenggu.diarize.pipeline import DiarizeOptions
from shenggu.errors import InvalidOptionError
from shenggu.solutions.court.record import HearingHeader, HearingRecord, Participant, build_record

DEFAULT_ROLES = ("judge", "plaintiff", "defendant")
# A hearing has at least the presiding judge and one party speaking, and the automatic count finds one speaker
# in some real two-person recordings (voices the speaker encoder hears as alike): the floor is known, so given.
HEARING_MIN_SPEAKERS = 2


def hearing_speakers(
    roles: Sequence[str],
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> DiarizeOptions:
    """Diarization options of a hearing: the caller's counts where given; otherwise at least
    :data:`HEARING_MIN_SPEAKERS` speakers when that many roles are named (raises InvalidOptionError on bad
    counts)."""
    high = max_speakers or DiarizeOptions.max_speakers
    if num_speakers is None and min_speakers is None and min(len(roles), high) >= HEARING_MIN_SPEAKERS:
        min_speakers = HEARING_MIN_SPEAKERS
    return DiarizeOptions(num_speakers, min_speakers or 1, high)


def record_hearing(
    path: Path,
    header: HearingHeader,
    recognizer: Recognizer,
    roles: Sequence[str] = DEFAULT_ROLES,
    speakers: DiarizeOptions | None = None,
    transcribe_options: TranscribeOptions | None = None,
    voices: dict[str, np.ndarray] | None = None,
    progress: Callable[[float], None] | None = None,
) -> HearingRecord:
    """The record of a hearing recording, recognized by ``recognizer`` (Mandarin unless ``transcribe_options``
    says otherwise).

    ``roles`` go to speakers by enrolled voice (``voices``: role → embedding) or else in order of first
    appearance; the hearing's opening speaker is usually the presiding judge. Without ``speakers`` the count
    is found with :func:`hearing_speakers`'s bounds."""
    options = transcribe_options or TranscribeOptions(language="zh")
    transcript = transcribe(path, recognizer, options, progress=progress, name=path.name)
    labelled = diarize_transcript(transcript, decode_audio(path), speakers or hearing_speakers(roles), roles, voices)
    return build_record(labelled, header, labelled.speakers)


def parse_participants(text: str) -> list[Participant]:
    """Participants from ``"审判长:张三,原告:李四"`` (role:name pairs, comma-separated; a name alone has no role)."""
    participants = []
    for item in text.replace("，", ",").split(","):
        if not item.strip():
            continue
        role, sep, name = item.replace("：", ":").partition(":")
        if sep and not role.strip():
            raise InvalidOptionError(f"participant '{item.strip()[:40]}' has an empty role (use role:name)")
        participants.append(Participant(role.strip(), name.strip()) if sep else Participant("", role.strip()))
    return participants
