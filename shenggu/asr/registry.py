"""ASR engines by name. Each engine is built once per process and configuration (lazily, thread-safe) and then
shared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shenggu.asr.types import Recognizer
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError, ModelError
from shenggu.lazy import once_per


@dataclass(frozen=True)
class EngineInfo:
    """What an engine is, for `shenggu engines` and the API's model list."""

    name: str
    description: str
    languages: str
    needs_model_dir: bool = False


# Each builder gets the user's model directory (or None), the threads and the cache of packaged models.
Builder = Callable[[Path | None, int, Path], Recognizer]


def _whisper_base(model_dir: Path | None, threads: int, models_dir: Path) -> Recognizer:
    from shenggu.asr.models import check_ctranslate2_whisper_dir, whisper_base_dir
    from shenggu.asr.whisper import WhisperRecognizer

    path = check_ctranslate2_whisper_dir(model_dir) if model_dir else whisper_base_dir(models_dir)
    return WhisperRecognizer("whisper-base", path, threads)


def _whisper_tiny_en(model_dir: Path | None, threads: int, models_dir: Path) -> Recognizer:
    from shenggu.asr.models import check_ctranslate2_whisper_dir, whisper_tiny_en_dir
    from shenggu.asr.whisper import WhisperRecognizer

    path = check_ctranslate2_whisper_dir(model_dir) if model_dir else whisper_tiny_en_dir()
    return WhisperRecognizer("whisper-tiny.en", path, threads)


def _faster_whisper(model_dir: Path | None, threads: int, models_dir: Path) -> Recognizer:
    from shenggu.asr.models import check_ctranslate2_whisper_dir
    from shenggu.asr.whisper import WhisperRecognizer

    if model_dir is None:
        raise ModelError("engine 'faster-whisper' needs --model-dir pointing at a CTranslate2 Whisper model")
    return WhisperRecognizer("faster-whisper", check_ctranslate2_whisper_dir(model_dir), threads)


def _sherpa_onnx(model_dir: Path | None, threads: int, models_dir: Path) -> Recognizer:
    from shenggu.asr.sherpa import SherpaOnnxRecognizer

    if model_dir is None:
        raise ModelError("engine 'sherpa-onnx' needs --model-dir pointing at a SenseVoice or Paraformer model")
    return SherpaOnnxRecognizer(model_dir, threads)


ENGINES: dict[str, tuple[EngineInfo, Builder]] = {
    "whisper-base": (
        EngineInfo("whisper-base", "Whisper base, multilingual, int8 (bundled, default)", "zh, en, 97 more"),
        _whisper_base,
    ),
    "whisper-tiny.en": (
        EngineInfo("whisper-tiny.en", "Whisper tiny.en, English only, fastest (bundled)", "en"),
        _whisper_tiny_en,
    ),
    "faster-whisper": (
        EngineInfo("faster-whisper", "Your own faster-whisper / CTranslate2 model directory", "model's", True),
        _faster_whisper,
    ),
    "sherpa-onnx": (
        EngineInfo("sherpa-onnx", "Your own sherpa-onnx SenseVoice or Paraformer directory", "model's", True),
        _sherpa_onnx,
    ),
}


def list_engines() -> list[EngineInfo]:
    """All engines that can be named."""
    return [info for info, _ in ENGINES.values()]


def get_recognizer(name: str | None = None, model_dir: Path | str | None = None, *, settings: Settings) -> Recognizer:
    """The engine called ``name`` (default: the settings' engine), built on first use and shared per model
    directory (default: the settings' ``asr_model_dir``), threads and model cache."""
    name = name or settings.asr_engine
    if name not in ENGINES:
        raise InvalidOptionError(f"unknown ASR engine '{name}' (choose from: {', '.join(ENGINES)})")
    path = Path(model_dir).expanduser().resolve() if model_dir else settings.asr_model_dir
    return _built(name, path, settings.threads, settings.models_dir)


@once_per(lambda *args: args)
def _built(name: str, path: Path | None, threads: int, models_dir: Path) -> Recognizer:
    return ENGINES[name][1](path, threads, models_dir)
