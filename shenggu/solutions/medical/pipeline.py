"""A recording in, its clinical record out: recognition with the medical vocabulary → dictation parsing, or
diarization → doctor/patient roles → a drafted record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.types import Recognizer, Transcript
from shenggu.audio.decode import decode_audio
from shenggu.diarize.assign import diarize_transcript
from shenggu.diarize.pipeline import DiarizeOptions
from shenggu.diarize.types import SpeakerEncoder
from shenggu.solutions.medical.consultation import DOCTOR, PATIENT, draft_consultation, utterances_of
from shenggu.solutions.medical.dictation import DICTATION_WORDS, dictate_text
from shenggu.solutions.medical.lexicon import MedicalLexicon, medical_lexicon
from shenggu.solutions.medical.record import MedicalRecord

CONSULTATION_SPEAKERS = DiarizeOptions(num_speakers=2)


def medical_options(
    hotwords: Sequence[str] = (), medical_vocabulary: bool = True, lexicon: MedicalLexicon | None = None
) -> TranscribeOptions:
    """Mandarin recognition options with the caller's ``hotwords`` and, unless switched off, the bundled medical
    vocabulary and the dictation words (section names, commands) for homophone correction."""
    vocabulary = [*(lexicon or medical_lexicon()).hotwords(), *DICTATION_WORDS] if medical_vocabulary else []
    return TranscribeOptions(language="zh", hotwords=list(hotwords), vocabulary=vocabulary)


def dictation_record(transcript: Transcript, lexicon: MedicalLexicon | None = None) -> MedicalRecord:
    """The record of a recognized dictation (each segment fed in order, with its times)."""
    record = dictate_text([(s.text, s.start, s.end) for s in transcript.segments], lexicon)
    record.duration = transcript.duration
    return record


def consultation_record(transcript: Transcript, lexicon: MedicalLexicon | None = None) -> MedicalRecord:
    """The drafted record of a diarized consultation."""
    record = draft_consultation(utterances_of(transcript), lexicon)
    record.duration = transcript.duration
    return record


def dictate_file(
    path: Path,
    recognizer: Recognizer,
    options: TranscribeOptions | None = None,
    progress: Callable[[float], None] | None = None,
) -> MedicalRecord:
    """The record of a dictation recording."""
    transcript = transcribe(path, recognizer, options or medical_options(), progress=progress, name=path.name)
    return dictation_record(transcript)


def consult_file(
    path: Path,
    recognizer: Recognizer,
    options: TranscribeOptions | None = None,
    encoder: SpeakerEncoder | None = None,
    doctor_voice: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
) -> MedicalRecord:
    """The drafted record of a consultation recording: two speakers; the doctor is the enrolled
    ``doctor_voice`` when given, else the speaker who asks the most questions."""
    transcript = transcribe(path, recognizer, options or medical_options(), progress=progress, name=path.name)
    roles = (DOCTOR, PATIENT) if doctor_voice is not None else ()
    voices = {DOCTOR: doctor_voice} if doctor_voice is not None else None
    labelled = diarize_transcript(transcript, decode_audio(path), CONSULTATION_SPEAKERS, roles, voices, encoder)
    return consultation_record(labelled)
