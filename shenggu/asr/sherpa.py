"""sherpa-onnx engine for operator-supplied non-autoregressive models (SenseVoice, Paraformer).

sherpa-onnx is optional (``pip install 'shenggu[sherpa]'``); its models are not bundled, so this engine only runs
on a model directory the operator brings. The directory must hold ``tokens.txt`` and ``model.onnx`` (or
``model.int8.onnx``); SenseVoice is recognised by its name or ``--model-type`` hint in ``config.txt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shenggu.asr.slots import DecodeSlots, SlottedEngine
from shenggu.asr.types import ChunkResult, DecodeOptions, Segment
from shenggu.errors import ModelError


def _find_model(model_dir: Path) -> tuple[Path, Path, str]:
    if not model_dir.is_dir():
        raise ModelError(f"sherpa-onnx model directory does not exist: {model_dir}")
    tokens = model_dir / "tokens.txt"
    model = next((model_dir / n for n in ("model.int8.onnx", "model.onnx") if (model_dir / n).is_file()), None)
    if model is None or not tokens.is_file():
        raise ModelError(
            f"{model_dir} is not a sherpa-onnx SenseVoice/Paraformer directory (needs model.onnx or "
            "model.int8.onnx and tokens.txt)"
        )
    kind = "sense_voice" if "sense" in model_dir.name.lower() else "paraformer"
    hint = model_dir / "config.txt"
    if hint.is_file() and "sense" in hint.read_text(encoding="utf-8", errors="replace").lower():
        kind = "sense_voice"
    return model, tokens, kind


class SherpaOnnxRecognizer(SlottedEngine):
    """An offline sherpa-onnx recognizer over a user-supplied model directory."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        model, tokens, kind = _find_model(model_dir)
        try:
            import sherpa_onnx
        except ImportError as exc:
            raise ModelError(
                "engine 'sherpa-onnx' needs the sherpa-onnx package: pip install 'shenggu[sherpa]'"
            ) from exc
        self.name = "sherpa-onnx"
        factory = (
            sherpa_onnx.OfflineRecognizer.from_sense_voice
            if kind == "sense_voice"
            else sherpa_onnx.OfflineRecognizer.from_paraformer
        )
        try:
            self._recognizer = factory(model=str(model), tokens=str(tokens), num_threads=threads)
        except Exception as exc:  # sherpa-onnx raises plain RuntimeError on bad files
            raise ModelError(f"sherpa-onnx could not load {model}: {exc}".splitlines()[0]) from exc
        self.workers = 1
        self._slots = DecodeSlots(1)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """These models are Mandarin-first; report zh."""
        return "zh", 1.0

    def decode_chunks(self, chunks: Sequence[np.ndarray], options: DecodeOptions) -> list[ChunkResult]:
        """Decode each chunk; these models give text without word timings, so one segment per chunk."""
        results = []
        with self._slots.hold():
            streams = []
            for chunk in chunks:
                stream = self._recognizer.create_stream()
                stream.accept_waveform(16000, chunk)
                streams.append(stream)
            self._recognizer.decode_streams(streams)
        for chunk, stream in zip(chunks, streams, strict=True):
            text = stream.result.text.strip()
            results.append(ChunkResult([Segment(0.0, len(chunk) / 16000, text)], options.language or "zh"))
            if options.refine:
                options.refine(results[-1], None)
        return results
