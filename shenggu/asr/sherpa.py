"""sherpa-onnx engine for operator-supplied non-autoregressive models (SenseVoice, Paraformer).

sherpa-onnx is optional (``pip install 'shenggu[sherpa]'``); its models are not bundled, so this engine only runs
on a model directory the operator brings: ``model.int8.onnx`` (or ``model.onnx``) and ``tokens.txt``, as
sherpa-onnx publishes them. The kind of model is read from the ONNX file's own metadata, which sherpa-onnx needs
anyway: a directory's name says nothing reliable, and sherpa-onnx ends the whole process (``exit``) when a key it
expects is missing, so every key is checked here first and a wrong directory is a ``ModelError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shenggu.asr.onnx_metadata import read_onnx_metadata
from shenggu.asr.slots import DecodeSlots, SlottedEngine
from shenggu.asr.types import ChunkResult, DecodeOptions, Segment
from shenggu.audio.decode import SAMPLE_RATE
from shenggu.errors import ModelError

_FEATURES = ("vocab_size", "lfr_window_size", "lfr_window_shift", "neg_mean", "inv_stddev")
# What sherpa-onnx reads from each kind's metadata (csrc/offline-{sense-voice,paraformer}-model.cc).
_REQUIRED_METADATA = {
    "sense_voice": (
        *_FEATURES,
        "normalize_samples",
        "with_itn",
        "without_itn",
        "lang_auto",
        "lang_zh",
        "lang_en",
        "lang_ja",
        "lang_ko",
        "lang_yue",
    ),
    "paraformer": _FEATURES,
}
_KIND_NAMES = {"sense_voice": "SenseVoice", "paraformer": "Paraformer"}


def inspect_model_dir(model_dir: Path) -> tuple[Path, Path, str]:
    """The model file, the tokens file and the kind (``sense_voice`` or ``paraformer``) of a sherpa-onnx model
    directory; a ``ModelError`` naming what is missing when it is not one."""
    if not model_dir.is_dir():
        raise ModelError(f"sherpa-onnx model directory does not exist: {model_dir}")
    tokens = model_dir / "tokens.txt"
    model = next((model_dir / n for n in ("model.int8.onnx", "model.onnx") if (model_dir / n).is_file()), None)
    if model is None or not tokens.is_file():
        raise ModelError(
            f"{model_dir} is not a sherpa-onnx SenseVoice/Paraformer directory (needs model.onnx or "
            "model.int8.onnx and tokens.txt)"
        )
    metadata = read_onnx_metadata(model)
    # SenseVoice's exports say so in model_type; its language and ITN ids are what no Paraformer has.
    sense_voice = metadata.get("model_type", "").startswith("sense_voice") or "with_itn" in metadata
    kind = "sense_voice" if sense_voice else "paraformer"
    missing = [key for key in _REQUIRED_METADATA[kind] if key not in metadata]
    if missing:
        raise ModelError(
            f"{model} is not a sherpa-onnx {_KIND_NAMES[kind]} model: its metadata lacks {', '.join(missing)}"
        )
    if kind == "paraformer" and "</s>" not in tokens.read_text(encoding="utf-8", errors="replace").split():
        raise ModelError(f"{tokens} has no </s> token, which ends a Paraformer's output")
    return model, tokens, kind


class SherpaOnnxRecognizer(SlottedEngine):
    """An offline sherpa-onnx recognizer over a user-supplied model directory."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        model, tokens, self.kind = inspect_model_dir(model_dir)
        try:
            import sherpa_onnx
        except ImportError as exc:
            raise ModelError(
                "engine 'sherpa-onnx' needs the sherpa-onnx package: pip install 'shenggu[sherpa]'"
            ) from exc
        self.name = "sherpa-onnx"
        try:
            if self.kind == "sense_voice":
                # ITN on: punctuated text with digits, the form Whisper writes and shenggu's clean-up expects.
                # The language stays "auto": sherpa-onnx fixes it when the model loads, and changing it later
                # (set_config) also resets the feature extraction to defaults that garble SenseVoice's input.
                self._recognizer = sherpa_onnx.OfflineRecognizer.from_sense_voice(
                    model=str(model), tokens=str(tokens), num_threads=threads, use_itn=True
                )
            else:
                self._recognizer = sherpa_onnx.OfflineRecognizer.from_paraformer(
                    paraformer=str(model), tokens=str(tokens), num_threads=threads
                )
        except Exception as exc:  # sherpa-onnx raises plain RuntimeError/IndexError on bad files
            raise ModelError(f"sherpa-onnx could not load {model}: {exc}".splitlines()[0]) from exc
        self.workers = 1
        self._slots = DecodeSlots(1)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """SenseVoice tags its output with the language it heard (``<|en|>``); Paraformer models are Mandarin."""
        if self.kind != "sense_voice":
            return "zh", 1.0
        return self._decode([audio])[0].lang.strip("<|>") or "zh", 1.0

    def decode_chunks(self, chunks: Sequence[np.ndarray], options: DecodeOptions) -> list[ChunkResult]:
        """Decode each chunk; these models give text without word timings, so one segment per chunk."""
        results = []
        for chunk, result in zip(chunks, self._decode(chunks, options.urgent), strict=True):
            segment = Segment(0.0, len(chunk) / SAMPLE_RATE, result.text.strip())
            results.append(ChunkResult([segment], options.language or "zh"))
            if options.refine:
                options.refine(results[-1], None)
        return results

    def _decode(self, chunks: Sequence[np.ndarray], urgent: bool = False) -> list:
        """sherpa-onnx's results (text, and SenseVoice's language tag) of one batch (``urgent``: a stream's final)."""
        with self._slots.hold(urgent):
            streams = []
            for chunk in chunks:
                stream = self._recognizer.create_stream()
                stream.accept_waveform(SAMPLE_RATE, chunk)
                streams.append(stream)
            self._recognizer.decode_streams(streams)
        return [stream.result for stream in streams]
