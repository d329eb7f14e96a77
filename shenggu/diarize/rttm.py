"""RTTM, the standard exchange format of diarization turns (NIST): one ``SPEAKER`` line per turn.

SPEAKER <file> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>
"""

from __future__ import annotations

from pathlib import Path

from shenggu.diarize.types import Diarization, SpeakerTurn
from shenggu.errors import ShengguError


class RttmError(ShengguError):
    """An RTTM file is missing or has a malformed SPEAKER line."""

    code = "bad_rttm"
    http_status = 400


def format_rttm(diarization: Diarization, file_id: str) -> str:
    """The turns of ``diarization`` as RTTM text (times in seconds, 3 decimals)."""
    name = file_id.replace(" ", "_") or "audio"
    return "".join(
        f"SPEAKER {name} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n" for t in diarization.turns
    )


def read_rttm(path: str | Path) -> dict[str, list[SpeakerTurn]]:
    """Turns per file id from an RTTM file (lines other than SPEAKER are skipped)."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RttmError(f"cannot read RTTM {source}: {exc}") from None
    turns: dict[str, list[SpeakerTurn]] = {}
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        try:
            start, duration = float(fields[3]), float(fields[4])
            speaker = fields[7]
        except (IndexError, ValueError):
            raise RttmError(f"{source}: line {number}: malformed SPEAKER line") from None
        if duration < 0 or start < 0:
            raise RttmError(f"{source}: line {number}: negative start or duration")
        turns.setdefault(fields[1], []).append(SpeakerTurn(start, start + duration, speaker))
    return {file_id: sorted(ts, key=lambda t: t.start) for file_id, ts in turns.items()}
