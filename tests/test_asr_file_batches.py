"""File mode keeps every ASR worker busy: a batch waits queued, so a worker that is free early takes it at once."""

from __future__ import annotations

import threading
import time

import numpy as np

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.audio import decode_audio, encode_wav


class SlowFirstRecognizer:
    """The real engine with two workers, whose first call takes 3 s longer (a long window with many candidates)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.workers = inner, inner.name, 2
        self.calls: list[tuple[float, float]] = []  # (start, end) of each decode_chunks call, by start
        self._lock = threading.Lock()

    def detect_language(self, audio):
        return self.inner.detect_language(audio)

    def decode_chunks(self, chunks, options):
        with self._lock:
            index = len(self.calls)
            self.calls.append((time.monotonic(), float("inf")))
        if index == 0:
            time.sleep(3.0)
        results = self.inner.decode_chunks(chunks, options)
        with self._lock:
            self.calls[index] = (self.calls[index][0], time.monotonic())
        return results


def test_a_worker_free_early_decodes_the_next_window(data_dir, recognizer, tmp_path):
    clip = decode_audio(data_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav")
    gap = np.zeros(4 * 16000, dtype=np.float32)  # longer than a window may bridge: each clip is its own window
    path = tmp_path / "three.wav"
    path.write_bytes(encode_wav(np.concatenate([clip, gap, clip, gap, clip])))
    # Warm up first: the first call that corrects homophones loads the word LM and its index (~3 s), which would
    # hold up the second worker instead of the sleep the first one was given.
    transcribe(path, recognizer, TranscribeOptions(language="zh"))
    engine = SlowFirstRecognizer(recognizer)
    transcript = transcribe(path, engine, TranscribeOptions(language="zh", parallel_batches=2))
    assert len(engine.calls) == 3
    first_end, third_start = engine.calls[0][1], engine.calls[2][0]
    assert third_start < first_end  # the second worker did not wait for the slow first window to be collected
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and transcript.text.count("协会") == 3
