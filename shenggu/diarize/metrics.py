"""Diarization error rate (DER), the NIST way, on a 10 ms grid.

DER = (missed speech + false alarm + speaker confusion) / reference speech, where overlapping reference
speakers each count, hypothesis speakers are mapped one-to-one onto reference speakers so that their common time
is largest, and a ``collar`` (seconds) on each side of every reference boundary is not scored (0.25 s is the
usual choice: annotators disagree about boundaries by about that much).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shenggu.diarize.types import SpeakerTurn

STEP_S = 0.01


@dataclass(frozen=True)
class DerCounts:
    """Scored seconds of one file (or a sum of files)."""

    reference: float
    missed: float
    false_alarm: float
    confusion: float

    @property
    def der(self) -> float:
        errors = self.missed + self.false_alarm + self.confusion
        return errors / self.reference if self.reference > 0 else (1.0 if errors > 0 else 0.0)

    def __add__(self, other: DerCounts) -> DerCounts:
        return DerCounts(
            self.reference + other.reference,
            self.missed + other.missed,
            self.false_alarm + other.false_alarm,
            self.confusion + other.confusion,
        )


def der_counts(reference: Sequence[SpeakerTurn], hypothesis: Sequence[SpeakerTurn], collar: float = 0.25) -> DerCounts:
    """Missed, false-alarm and confused seconds of ``hypothesis`` against ``reference`` (see the module doc)."""
    end = max([t.end for t in reference] + [t.end for t in hypothesis] + [0.0])
    frames = int(np.ceil(end / STEP_S)) + 1
    ref = _activity(reference, frames)
    hyp = _activity(hypothesis, frames)
    scored = np.ones(frames, bool)
    if collar > 0:
        for turn in reference:
            for boundary in (turn.start, turn.end):
                scored[_frame(boundary - collar) : _frame(boundary + collar)] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    overlap = ref.astype(np.int32) @ hyp.T.astype(np.int32)  # frames each (ref, hyp) pair speaks together
    correct = np.zeros(ref.shape[1], np.int64)
    for r, h in _best_mapping(overlap):
        correct += ref[r] & hyp[h]
    return DerCounts(
        reference=float(n_ref.sum()) * STEP_S,
        missed=float(np.maximum(n_ref - n_hyp, 0).sum()) * STEP_S,
        false_alarm=float(np.maximum(n_hyp - n_ref, 0).sum()) * STEP_S,
        confusion=float((np.minimum(n_ref, n_hyp) - correct).sum()) * STEP_S,
    )


def _frame(seconds: float) -> int:
    return max(0, round(seconds / STEP_S))


def _activity(turns: Sequence[SpeakerTurn], frames: int) -> np.ndarray:
    """One boolean row per speaker (in order of first appearance): is the speaker talking in this frame."""
    speakers = list(dict.fromkeys(t.speaker for t in turns))
    activity = np.zeros((len(speakers), frames), bool)
    for turn in turns:
        activity[speakers.index(turn.speaker), _frame(turn.start) : _frame(turn.end)] = True
    return activity


def _best_mapping(overlap: np.ndarray) -> list[tuple[int, int]]:
    """(reference, hypothesis) pairs, one-to-one, with the largest total overlap.

    Exhaustive for up to 8 speakers on the smaller side (at most 8!/(8-k)! candidates), greedy beyond."""
    n_ref, n_hyp = overlap.shape
    if min(n_ref, n_hyp) == 0:
        return []
    if max(n_ref, n_hyp) <= 8:
        if n_ref <= n_hyp:
            best = max(itertools.permutations(range(n_hyp), n_ref), key=lambda p: overlap[range(n_ref), p].sum())
            return list(zip(range(n_ref), best, strict=True))
        best = max(itertools.permutations(range(n_ref), n_hyp), key=lambda p: overlap[p, range(n_hyp)].sum())
        return list(zip(best, range(n_hyp), strict=True))
    pairs, used_r, used_h = [], set(), set()
    for flat in np.argsort(-overlap, axis=None):
        r, h = divmod(int(flat), n_hyp)
        if r not in used_r and h not in used_h and overlap[r, h] > 0:
            pairs.append((r, h))
            used_r.add(r)
            used_h.add(h)
    return pairs
