"""Voice activity detection with Silero VAD v6 (the ONNX file shipped inside faster-whisper).

The model runs per 512-sample frame (32 ms) with carried LSTM state and 64 samples of context, so it can be fed
audio of any length in pieces: ``StreamingVad`` turns a stream of samples into finished speech segments while
holding only a few frames of state, which keeps memory flat on long recordings and serves streaming ASR too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shenggu.audio.decode import SAMPLE_RATE
from shenggu.lazy import once

FRAME = 512  # samples per VAD frame (32 ms at 16 kHz)
_CONTEXT = 64  # samples of the previous frame the v6 model expects in front of each frame


@dataclass(frozen=True)
class VadOptions:
    """Thresholds and durations that shape speech segments.

    ``speech_pad_ms`` is the pre-roll (and post-roll) added around each segment: without at least 300 ms the
    first syllable is often clipped and recognition errors double.
    """

    threshold: float = 0.5
    neg_threshold: float | None = None  # below this a frame is silence; default threshold - 0.15
    min_speech_ms: int = 100  # short answers such as 对 or 是 last ~150 ms
    min_silence_ms: int = 500
    speech_pad_ms: int = 300
    max_speech_s: float = 28.0
    # A segment with less speech than this (a lone 对 or "yes") closes only after ``short_silence_ms``: Whisper
    # misreads such fragments alone, and they are usually the start of a longer sentence. 0: no special case.
    short_speech_ms: int = 0
    short_silence_ms: int = 1200
    # A segment with more speech than this closes after only ``long_silence_ms``: a stream's long sentence is cut
    # at its next breath rather than at ``max_speech_s``, many seconds later. 0: no special case.
    long_speech_s: float = 0.0
    long_silence_ms: int = 200

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("VAD threshold must be between 0 and 1")
        if min(self.speech_pad_ms, self.min_silence_ms, self.min_speech_ms, self.short_speech_ms) < 0:
            raise ValueError("VAD durations must not be negative")


@dataclass(frozen=True)
class SpeechSegment:
    """A span of speech, in seconds from the start of the audio."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length of the span in seconds."""
        return self.end - self.start


class SileroVadModel:
    """The Silero VAD v6 ONNX session; one per process (see ``get_vad_model``)."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        if path is None:
            from faster_whisper.utils import get_assets_path

            path = Path(get_assets_path()) / "silero_vad_v6.onnx"
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"], sess_options=opts)

    def new_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fresh (h, c, context) state for a new stream."""
        zeros = np.zeros((1, 1, 128), dtype=np.float32)
        return zeros, zeros.copy(), np.zeros(_CONTEXT, dtype=np.float32)

    def probabilities(
        self, frames: np.ndarray, state: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Speech probability of each 512-sample frame in ``frames`` (shape (n, 512)), and the next state."""
        h, c, context = state
        if len(frames) == 0:
            return np.zeros(0, dtype=np.float32), state
        previous_tails = np.concatenate([context[None, :], frames[:-1, -_CONTEXT:]], axis=0)
        batch = np.concatenate([previous_tails, frames], axis=1).astype(np.float32)
        out, h, c = self._session.run(None, {"input": batch, "h": h, "c": c})
        return np.asarray(out, dtype=np.float32).reshape(-1), (h, c, frames[-1, -_CONTEXT:].copy())


@once
def get_vad_model() -> SileroVadModel:
    """The process-wide VAD model, loaded on first use (thread-safe)."""
    return SileroVadModel()


class StreamingVad:
    """Incremental speech segmentation: feed samples with ``accept``; finished segments come back as found.

    The state machine opens a segment when a frame's probability reaches ``threshold`` and closes it after
    ``min_silence_ms`` below ``neg_threshold``. A segment longer than ``max_speech_s`` is cut at its last short
    pause (or hard, when there is none) so every segment fits one Whisper window.
    """

    def __init__(self, options: VadOptions | None = None, model: SileroVadModel | None = None) -> None:
        self.options = options or VadOptions()
        self._model = model or get_vad_model()
        self._state = self._model.new_state()
        self._pending = np.zeros(0, dtype=np.float32)  # samples not yet a whole frame
        self._frame_index = 0  # frames processed so far
        self._neg = (
            self.options.neg_threshold
            if self.options.neg_threshold is not None
            else max(self.options.threshold - 0.15, 0.01)
        )
        ms_to_frames = SAMPLE_RATE / 1000 / FRAME
        self._min_silence = max(1, round(self.options.min_silence_ms * ms_to_frames))
        self._min_speech = round(self.options.min_speech_ms * ms_to_frames)
        self._short_speech = round(self.options.short_speech_ms * ms_to_frames)
        self._short_silence = max(self._min_silence, round(self.options.short_silence_ms * ms_to_frames))
        self._long_speech = int(self.options.long_speech_s * SAMPLE_RATE / FRAME) or None
        self._long_silence = max(1, min(self._min_silence, round(self.options.long_silence_ms * ms_to_frames)))
        self._pad = round(self.options.speech_pad_ms * ms_to_frames)
        self._max_speech = int(self.options.max_speech_s * SAMPLE_RATE / FRAME) - 2 * self._pad
        self._short_pause = max(1, round(100 * ms_to_frames))  # a pause where a too-long segment may be cut
        self._start: int | None = None  # first speech frame of the open segment
        self._silence_start: int | None = None  # first silent frame of the current silence run
        self._last_pause: int | None = None  # start of the latest short pause inside the open segment
        self._last_end_padded = 0  # end (frames, padded) of the previous segment

    @property
    def processed_seconds(self) -> float:
        """Audio time consumed so far."""
        return self._frame_index * FRAME / SAMPLE_RATE

    @property
    def open_start(self) -> float | None:
        """Start (with pre-roll) of the speech segment still open, in seconds; None in silence."""
        if self._start is None:
            return None
        return max(self._start - self._pad, self._last_end_padded, 0) * FRAME / SAMPLE_RATE

    @property
    def open_silence_start(self) -> float | None:
        """Where the silence that may end the open segment began, in seconds; None in speech or outside one.

        A segment that closes on this silence ends at this time plus the post-roll."""
        if self._start is None or self._silence_start is None:
            return None
        return self._silence_start * FRAME / SAMPLE_RATE

    @property
    def pad_seconds(self) -> float:
        """The pre-roll and post-roll added around segments, in seconds."""
        return self._pad * FRAME / SAMPLE_RATE

    def accept(self, samples: np.ndarray) -> list[SpeechSegment]:
        """Consume more 16 kHz float32 samples; return the segments that this input closed."""
        audio = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).reshape(-1)])
        usable = len(audio) - len(audio) % FRAME
        self._pending = audio[usable:]
        if usable == 0:
            return []
        probs, self._state = self._model.probabilities(audio[:usable].reshape(-1, FRAME), self._state)
        closed: list[SpeechSegment] = []
        for prob in probs:
            segment = self._step(float(prob))
            if segment is not None:
                closed.append(segment)
            self._frame_index += 1
        return closed

    def flush(self) -> list[SpeechSegment]:
        """End of stream: close an open segment (the trailing partial frame is counted as silence)."""
        if self._start is None:
            return []
        end = self._frame_index + (1 if len(self._pending) else 0)
        segment = self._close(self._start, end, final=True)
        return [segment] if segment else []

    def _step(self, prob: float) -> SpeechSegment | None:
        i = self._frame_index
        if self._start is None:
            if prob >= self.options.threshold:
                self._start, self._silence_start, self._last_pause = i, None, None
            return None
        if prob >= self.options.threshold:
            if self._silence_start is not None and i - self._silence_start >= self._short_pause:
                self._last_pause = self._silence_start
            self._silence_start = None
        elif prob < self._neg and self._silence_start is None:
            self._silence_start = i
        if self._silence_start is not None and i + 1 - self._silence_start >= self._silence_needed():
            return self._close(self._start, self._silence_start)
        if i + 1 - self._start > self._max_speech:
            cut = self._last_pause if self._last_pause and self._last_pause > self._start else i + 1
            segment = self._close(self._start, cut)
            # The rest after the cut continues as a new open segment.
            self._start, self._silence_start, self._last_pause = cut, None, None
            return segment
        return None

    def _silence_needed(self) -> int:
        """Frames of silence that close the open segment, given how much speech it holds."""
        speech = (self._silence_start or 0) - (self._start or 0)
        if speech < self._short_speech:
            return self._short_silence
        if self._long_speech is not None and speech > self._long_speech:
            return self._long_silence
        return self._min_silence

    def _close(self, start: int, end: int, final: bool = False) -> SpeechSegment | None:
        self._start, self._silence_start, self._last_pause = None, None, None
        if end - start < max(1, self._min_speech):
            return None
        padded_start = max(start - self._pad, self._last_end_padded, 0)
        padded_end = end + self._pad
        if final:
            padded_end = min(padded_end, self._frame_index + 1)
        self._last_end_padded = padded_end
        return SpeechSegment(padded_start * FRAME / SAMPLE_RATE, padded_end * FRAME / SAMPLE_RATE)


def detect_speech(audio: np.ndarray, options: VadOptions | None = None) -> list[SpeechSegment]:
    """Speech segments of a whole (short) 16 kHz mono signal."""
    vad = StreamingVad(options)
    segments = vad.accept(audio)
    segments.extend(vad.flush())
    duration = len(audio) / SAMPLE_RATE
    return [SpeechSegment(s.start, min(s.end, duration)) for s in segments]
