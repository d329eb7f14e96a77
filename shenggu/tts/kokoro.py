"""Kokoro-82M v1.0 (int8 ONNX on onnxruntime) with its native voice packs, for Mandarin (and Latin runs in it).

The front-end turns a piece of text into Kokoro phonemes (misaki's Mandarin G2P, espeak IPA for English words);
each phoneme is a token, and the voice's style vector is the pack's row for that many tokens.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from shenggu.errors import InvalidOptionError
from shenggu.tts.models import kokoro_model_path, kokoro_vocab, kokoro_voices_dir
from shenggu.tts.phonemes import kokoro_phonemes
from shenggu.tts.pieces import TextPiece
from shenggu.tts.types import Voice

SAMPLE_RATE = 24000
MAX_TOKENS = 510  # the model's context minus the two boundary tokens


class KokoroSynthesizer:
    """The Kokoro session and voice packs, loaded once and shared by threads (onnxruntime runs are thread-safe)."""

    sample_rate = SAMPLE_RATE

    def __init__(self, voice_names: list[str], threads: int, models_dir: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(kokoro_model_path(models_dir)), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._vocab = kokoro_vocab()
        self._voices_dir = kokoro_voices_dir(voice_names, models_dir)
        self._packs: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _pack(self, name: str) -> np.ndarray:
        with self._lock:
            if name not in self._packs:
                path = self._voices_dir / f"{name}.bin"
                self._packs[name] = np.fromfile(path, dtype="<f4").reshape(-1, 1, 256)
            return self._packs[name]

    def tokens(self, piece: TextPiece) -> list[int]:
        """The token ids of a piece (phonemes outside the vocabulary are dropped by the front-end)."""
        ids = [self._vocab[p] for p in kokoro_phonemes(piece) if p in self._vocab]
        if len(ids) > MAX_TOKENS:
            raise InvalidOptionError(f"text piece too long for Kokoro ({len(ids)} phonemes): '{piece.text[:30]}…'")
        return ids

    def synthesize(self, piece: TextPiece, voice: Voice, speed: float) -> np.ndarray:
        """Speak one piece; an empty array when it has nothing to say."""
        ids = self.tokens(piece)
        if not ids:
            return np.zeros(0, np.float32)
        pack = self._pack(voice.id)
        style = pack[min(len(ids), len(pack)) - 1].reshape(1, 256)
        audio = self._session.run(
            None,
            {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                "style": style.astype(np.float32),
                "speed": np.array([speed], dtype=np.float32),
            },
        )[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)
