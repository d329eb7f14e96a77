"""A small YIN pitch tracker in numpy: fundamental frequency every 10 ms, with a voiced/unvoiced decision.

YIN (de Cheveigné & Kawahara, 2002): per frame, the difference function ``d(τ) = Σ (x[j] - x[j+τ])²`` over a
25 ms integration window, normalized by its running mean (``d'``); the period is the first lag whose ``d'`` dips
below a threshold (then the bottom of that dip), refined by parabolic interpolation. A frame is voiced when that
dip is deep enough and the frame is not much quieter than the loud part of the recording; frames that jump away
from their neighbours (octave errors) are dropped. All frames are done at once with FFTs: a 30 s recording takes
about 0.4 s on one core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shenggu.audio.decode import SAMPLE_RATE

HOP = 160  # 10 ms at 16 kHz
_WINDOW = 400  # YIN integration window: 25 ms, longer than the period of the lowest pitch tracked
_THRESHOLD = 0.15  # d' below this: a candidate period (YIN's absolute threshold)
_VOICED = 0.3  # d' at the chosen period above this: aperiodic (noise, silence)
_QUIET_DB = 35.0  # frames this far below the loud frames (95th percentile of energy) are unvoiced
_JUMP_ST = 4.0  # a frame this far (semitones) from its neighbours' median is an octave error or a glitch
_MIN_RUN = 3  # voiced runs shorter than this (30 ms) are dropped


@dataclass(frozen=True)
class PitchTrack:
    """Fundamental frequency per 10 ms frame; ``f0`` is NaN where the frame is unvoiced."""

    f0: np.ndarray  # Hz, float64
    first_s: float  # centre of the first frame, in seconds

    @property
    def times(self) -> np.ndarray:
        """Centre of each frame, in seconds."""
        return np.arange(len(self.f0)) * (HOP / SAMPLE_RATE) + self.first_s

    def between(self, start: float, end: float) -> np.ndarray:
        """The voiced f0 values (Hz) of the frames centred in ``[start, end)``."""
        times = self.times
        values = self.f0[(times >= start) & (times < end)]
        return values[~np.isnan(values)]


def track_pitch(samples: np.ndarray, fmin: float = 60.0, fmax: float = 500.0) -> PitchTrack:
    """YIN f0 of 16 kHz mono ``samples`` every 10 ms between ``fmin`` and ``fmax`` Hz."""
    samples = np.asarray(samples, dtype=np.float64)
    tau_min, tau_max = int(SAMPLE_RATE / fmax), int(np.ceil(SAMPLE_RATE / fmin))
    frame_len = _WINDOW + tau_max
    if len(samples) < frame_len:
        return PitchTrack(np.full(0, np.nan), 0.0)
    frames = np.lib.stride_tricks.sliding_window_view(samples, frame_len)[::HOP]
    frames = frames - frames.mean(axis=1, keepdims=True)  # DC offset would bias d(τ)
    dprime = _cumulative_mean_normalized_difference(frames, tau_max)
    tau, depth = _pick_periods(dprime, tau_min, tau_max)
    energy = np.square(frames[:, :_WINDOW]).mean(axis=1)
    loud = np.percentile(energy, 95)
    voiced = (depth < _VOICED) & (energy > loud * 10 ** (-_QUIET_DB / 10)) & (energy > 1e-10)
    f0 = _remove_glitches(np.where(voiced, SAMPLE_RATE / tau, np.nan))
    return PitchTrack(f0, frame_len / 2 / SAMPLE_RATE)


def _cumulative_mean_normalized_difference(frames: np.ndarray, tau_max: int) -> np.ndarray:
    """YIN's ``d'(τ)`` for τ in ``0..tau_max`` of every frame (rows)."""
    # Lags never wrap: j + τ < frame length for every j < W, so an FFT as long as the frame is enough.
    size = 1 << int(np.ceil(np.log2(frames.shape[1])))
    spectrum = np.fft.rfft(frames, size)
    head = np.fft.rfft(frames[:, :_WINDOW], size)
    # r(τ) = Σ_{j<W} x[j]·x[j+τ]: the cross-correlation of the window with the frame.
    r = np.fft.irfft(np.conj(head) * spectrum, size)[:, : tau_max + 1]
    squares = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(np.square(frames), axis=1)], axis=1)
    lags = np.arange(tau_max + 1)
    shifted_energy = squares[:, lags + _WINDOW] - squares[:, lags]  # Σ_{j<W} x[j+τ]²
    diff = np.maximum(squares[:, [_WINDOW]] + shifted_energy - 2 * r, 0.0)
    running = np.cumsum(diff[:, 1:], axis=1)
    dprime = np.ones_like(diff)
    dprime[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(running, 1e-12)
    return dprime


def _pick_periods(dprime: np.ndarray, tau_min: int, tau_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the period in samples (fractional) and ``d'`` there.

    The first dip below the threshold, at its bottom (not the global minimum, which is often a multiple of the
    period: an octave too low); frames with no such dip take the global minimum, and are usually unvoiced."""
    search = dprime[:, tau_min : tau_max + 1]
    lags = np.arange(search.shape[1])
    below = search < _THRESHOLD
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.shape[1])
    after = lags >= first[:, None]
    # The run of lags below the threshold that starts at the first one.
    run = below & after & (np.cumsum(~below & after, axis=1) == 0)
    best = np.where(run.any(axis=1), np.where(run, search, np.inf).argmin(axis=1), search.argmin(axis=1))
    rows = np.arange(len(search))
    depth = search[rows, best]
    # Parabolic interpolation through the minimum and its neighbours.
    left = search[rows, np.maximum(best - 1, 0)]
    right = search[rows, np.minimum(best + 1, search.shape[1] - 1)]
    curvature = left - 2 * depth + right
    offset = np.where(curvature > 1e-12, 0.5 * (left - right) / np.where(curvature > 1e-12, curvature, 1.0), 0.0)
    return tau_min + best + np.clip(offset, -0.5, 0.5), depth


def _remove_glitches(f0: np.ndarray) -> np.ndarray:
    """Unvoice frames that jump away from their neighbours (YIN's octave errors, creaky onsets) and voiced runs
    too short to carry a pitch contour."""
    semitones = 12 * np.log2(f0)
    padded = np.pad(semitones, 2, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 5)
    voiced_neighbours = (~np.isnan(windows)).sum(axis=1)
    local = np.full(len(f0), np.nan)
    some = voiced_neighbours > 0
    local[some] = np.nanmedian(windows[some], axis=1)
    f0 = np.where(np.abs(semitones - local) > _JUMP_ST, np.nan, f0)
    voiced = ~np.isnan(f0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start < _MIN_RUN:
            f0[start:end] = np.nan
    return f0


__all__ = ["PitchTrack", "track_pitch"]
