"""Roles for diarized speakers (judge, plaintiff, doctor, agent …): by enrolled voice first, then by order.

A role that names one of the tenant's enrolled voices goes to the speaker whose voice matches it (above the
verification threshold; to nobody if none does); the other roles go, in the order given, to the remaining
speakers in order of first appearance — in a hearing the judge opens, in a call the agent greets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shenggu.diarize.types import Diarization
from shenggu.diarize.voiceprint import VERIFY_THRESHOLD, best_matches
from shenggu.errors import InvalidOptionError

MAX_ROLES = 20
MAX_ROLE_CHARS = 32


def parse_roles(roles: str | Sequence[str] | None) -> tuple[str, ...]:
    """Roles from ``"judge,plaintiff,defendant"`` (or a list): trimmed, non-empty, unique, bounded."""
    items = roles.replace("，", ",").split(",") if isinstance(roles, str) else list(roles or ())
    cleaned = [r.strip() for r in items if r.strip()]
    if len(cleaned) != len(set(cleaned)):
        raise InvalidOptionError("roles must be unique")
    if len(cleaned) > MAX_ROLES or any(len(r) > MAX_ROLE_CHARS for r in cleaned):
        raise InvalidOptionError(f"at most {MAX_ROLES} roles of at most {MAX_ROLE_CHARS} characters each")
    return tuple(cleaned)


def assign_roles(
    diarization: Diarization,
    roles: Sequence[str],
    enrolled: dict[str, np.ndarray],
    threshold: float = VERIFY_THRESHOLD,
) -> dict[str, str]:
    """Speaker label → role, for as many speakers as there are roles (see the module doc)."""
    voices = {role: enrolled[role] for role in roles if role in enrolled}
    by_voice = best_matches(diarization.embeddings, voices, threshold) if voices else {}
    assigned = dict(by_voice)
    left_roles = [r for r in roles if r not in voices]  # an enrolled voice nobody matched is absent, not next
    left_speakers = [s for s in diarization.speakers if s not in assigned]
    for speaker, role in zip(left_speakers, left_roles, strict=False):
        assigned[speaker] = role
    return assigned
