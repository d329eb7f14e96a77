"""Enrolled voices: ``/v1/speakers``."""

from __future__ import annotations

from shenggu.service.schemas import ResponseBody


class EnrolledSpeaker(ResponseBody):
    """An enrolled voice: how many clips and seconds of speech its voiceprint averages."""

    name: str
    clips: int
    seconds: float
    updated_at: str


class EnrolledSpeakers(ResponseBody):
    """The caller's enrolled voices."""

    data: list[EnrolledSpeaker]


class Verification(ResponseBody):
    """How close a clip is to an enrolled voice, and whether that is a match (``score >= threshold``)."""

    name: str
    score: float
    threshold: float
    match: bool
