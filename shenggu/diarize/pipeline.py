"""Diarization: VAD → sliding-window speaker embeddings → clustering → frame-level re-segmentation → turns.

1. Silero VAD finds speech (short padding and pauses: a change of speaker is often a short pause).
2. Each speech region is covered by windows of ``window_s`` every ``hop_s``; each window gets an embedding.
   1 s windows every 0.25 s: longer windows straddle speaker changes more often, and such mixed windows glue
   two speakers' clusters together (on the two-speaker meeting clip of shared/eval, 1.5 s windows split it
   18:2 windows at two clusters, 1 s windows 15:21 — DER 0.13 with the count given).
3. Windows are clustered (:mod:`shenggu.diarize.cluster`): the number of speakers is found, or given.
   Average-linkage clustering with a turn-taking rule (clusters fairly alike stay apart when they alternate in
   time) and a minimum speaking time; spectral clustering with eigengap or NME-SC split most single-speaker
   clips of shared/eval (into up to 8), which matters more than finding every speaker of a meeting.
4. Re-segmentation: every 50 ms frame of speech takes the speaker whose centroid is most like the windows
   covering it (on average), so speaker changes land between windows rather than at window edges; runs
   shorter than ``min_turn_s`` are given to their neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shenggu.audio.decode import SAMPLE_RATE
from shenggu.audio.vad import SpeechSegment, VadOptions, detect_speech
from shenggu.diarize.cluster import CountRule, cluster_embeddings
from shenggu.diarize.types import Diarization, SpeakerEncoder, SpeakerTurn
from shenggu.errors import InvalidOptionError

FRAME_S = 0.05
MAX_SPEAKERS = 20
# A stretch of one cluster shorter than this is not a turn of the conversation.
MIN_RUN_S = 0.75
_VAD = VadOptions(min_silence_ms=250, speech_pad_ms=60, min_speech_ms=150)


@dataclass(frozen=True)
class DiarizeOptions:
    """How many speakers (exactly, or a range) and the embedding windows."""

    num_speakers: int | None = None
    min_speakers: int = 1
    max_speakers: int = 8
    window_s: float = 1.0
    hop_s: float = 0.25
    min_turn_s: float = 0.5
    # When two clusters are two speakers (cluster.CountRule); chosen by leave-one-recording-group-out
    # cross-validation over 128 recordings assembled from shared/eval (README: "How many speakers").
    threshold: float = 0.54
    turn_threshold: float | None = 0.66
    min_turns: int = 3
    min_speaker_s: float = 1.0

    def __post_init__(self) -> None:
        if self.num_speakers is not None and not 1 <= self.num_speakers <= MAX_SPEAKERS:
            raise InvalidOptionError(f"num_speakers must be between 1 and {MAX_SPEAKERS}")
        if not 1 <= self.min_speakers <= self.max_speakers <= MAX_SPEAKERS:
            raise InvalidOptionError(
                f"min_speakers and max_speakers must satisfy 1 <= min_speakers <= max_speakers <= {MAX_SPEAKERS}"
            )


def diarize(samples: np.ndarray, encoder: SpeakerEncoder, options: DiarizeOptions | None = None) -> Diarization:
    """Who spoke when in 16 kHz mono float32 ``samples``; speakers are named SPEAKER_00, SPEAKER_01, … in order of
    first appearance."""
    options = options or DiarizeOptions()
    duration = len(samples) / SAMPLE_RATE
    regions = [r for r in detect_speech(samples, _VAD) if r.duration > 0]
    if not regions:
        return Diarization([], duration, [])
    starts, embeddings, region_of = _window_embeddings(samples, regions, encoder, options)
    labels = cluster_embeddings(
        embeddings,
        _count_rule(options),
        num_speakers=options.num_speakers,
        min_speakers=options.min_speakers,
        max_speakers=options.max_speakers,
    )
    centroids = _centroids(embeddings, labels)
    turns = _resegment(regions, starts, embeddings @ centroids.T, region_of, options)
    return _named(turns, duration, centroids)


def _count_rule(options: DiarizeOptions) -> CountRule:
    """The clustering's stopping rule, with turns and speaking time counted in windows."""
    return CountRule(
        threshold=options.threshold,
        turn_threshold=options.turn_threshold,
        min_turns=options.min_turns,
        min_run=max(1, round(MIN_RUN_S / options.hop_s)),
        min_windows=max(1, round(options.min_speaker_s / options.hop_s)),
    )


def _window_embeddings(
    samples: np.ndarray, regions: list[SpeechSegment], encoder: SpeakerEncoder, options: DiarizeOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start seconds, embedding, region index) of every window of every speech region."""
    spans = [(r.start, r.end) for r in regions]
    starts, embeddings = encoder.embed_windows(samples, options.window_s, options.hop_s, spans)
    # Windows lie inside their region (give or take the 10 ms frame rounding; regions are ≥ 250 ms apart), so
    # the last region starting at or before a window's start is its own.
    region_of = np.searchsorted([r.start for r in regions], starts + 0.02, side="right") - 1
    return starts, embeddings, np.maximum(region_of, 0)


def _centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit-length mean embedding of each cluster, row ``k`` for label ``k``."""
    centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in range(int(labels.max()) + 1)])
    return centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)


def _resegment(
    regions: list[SpeechSegment],
    starts: np.ndarray,
    scores: np.ndarray,
    region_of: np.ndarray,
    options: DiarizeOptions,
) -> list[SpeakerTurn]:
    """Frame-level speaker choice inside each speech region, from each window's similarity to each cluster
    (``scores``: windows × clusters), then turns."""
    turns: list[SpeakerTurn] = []
    for index, region in enumerate(regions):
        mine = np.flatnonzero(region_of == index)
        frames = np.arange(region.start, region.end, FRAME_S)
        if not len(frames) or not len(mine):
            continue
        window_starts = starts[mine]
        window_ends = np.minimum(window_starts + options.window_s, region.end)
        centers = frames + FRAME_S / 2
        covering = (centers[:, None] >= window_starts[None, :]) & (centers[:, None] < window_ends[None, :])
        # A frame no window covers (the tail of a region) takes the nearest window's scores.
        nearest = np.argmin(np.abs(centers[:, None] - (window_starts + window_ends)[None, :] / 2), axis=1)
        covering[np.arange(len(frames)), nearest] |= ~covering.any(axis=1)
        frame_scores = (covering.astype(np.float32) @ scores[mine]) / covering.sum(axis=1, keepdims=True)
        choice = _smooth(np.argmax(frame_scores, axis=1), round(options.min_turn_s / FRAME_S))
        turns.extend(_runs(choice, frames, region.end))
    return turns


def _smooth(choice: np.ndarray, min_frames: int) -> np.ndarray:
    """Runs shorter than ``min_frames`` take the label of their longer neighbour (shortest runs first)."""
    choice = choice.copy()
    while True:
        bounds = np.flatnonzero(np.diff(choice)) + 1
        edges = np.concatenate([[0], bounds, [len(choice)]])
        lengths = np.diff(edges)
        if len(lengths) < 2 or lengths.min() >= min_frames:
            return choice
        run = int(np.argmin(lengths))
        left = lengths[run - 1] if run > 0 else -1
        right = lengths[run + 1] if run + 1 < len(lengths) else -1
        neighbour = run - 1 if left >= right else run + 1
        choice[edges[run] : edges[run + 1]] = choice[edges[neighbour]]


def _runs(choice: np.ndarray, frames: np.ndarray, end: float) -> list[SpeakerTurn]:
    turns, start = [], 0
    for i in range(1, len(choice) + 1):
        if i == len(choice) or choice[i] != choice[start]:
            stop = frames[i] if i < len(choice) else end
            turns.append(SpeakerTurn(float(frames[start]), float(stop), str(int(choice[start]))))
            start = i
    return turns


def _named(turns: list[SpeakerTurn], duration: float, centroids: np.ndarray) -> Diarization:
    """Cluster numbers → SPEAKER_00, … by first appearance; touching turns of one speaker joined."""
    names: dict[str, str] = {}
    joined: list[SpeakerTurn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        name = names.setdefault(turn.speaker, f"SPEAKER_{len(names):02d}")
        if joined and joined[-1].speaker == name and turn.start - joined[-1].end < 1e-6:
            joined[-1] = SpeakerTurn(joined[-1].start, turn.end, name)
        else:
            joined.append(SpeakerTurn(turn.start, turn.end, name))
    embeddings = {name: centroids[int(label)] for label, name in names.items()}
    return Diarization(joined, duration, list(names.values()), embeddings)
