"""The speaker encoder the platform uses (one per process, built on first use)."""

from __future__ import annotations

from shenggu.diarize.types import SpeakerEncoder


def get_speaker_encoder() -> SpeakerEncoder:
    """The default speaker encoder: GE2E (from the resemblyzer package) run in numpy."""
    from shenggu.diarize.ge2e import get_encoder

    return get_encoder()
