"""An operator's dedicated machine-translation model: a CTranslate2 model directory with SentencePiece
tokenizers, as Argos Translate packages (``model/`` + ``sentencepiece.model`` + ``metadata.json``) and converted
OPUS-MT models (``model.bin`` + ``source.spm`` / ``target.spm``) lay them out.

No such model installs from a package index, so none ships with shenggu; an operator who has one sets
``SHENGGU_MT_ZH_EN_DIR`` / ``SHENGGU_MT_EN_ZH_DIR`` and that direction uses it instead of the language model,
with the same self-checks. Glossary terms and corrective hints cannot be given to such a model: a term it does
not produce is flagged, like any other failed check.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shenggu.config import Settings
from shenggu.errors import ModelError
from shenggu.translate.types import Direction

BEAM_SIZE = 4
MAX_DECODING_LENGTH = 512  # target tokens per sentence


@dataclass(frozen=True)
class MtModelLayout:
    """Where a model directory keeps its parts."""

    model_dir: Path
    source_spm: Path
    target_spm: Path


def find_layout(directory: Path, direction: Direction) -> MtModelLayout:
    """The parts of an Argos package or a converted OPUS-MT directory (``ModelError`` naming what is missing)."""
    if not directory.is_dir():
        raise ModelError(f"MT model directory {directory} does not exist")
    metadata = directory / "metadata.json"
    if metadata.is_file():
        _check_metadata(metadata, direction)
    model_dir = directory / "model" if (directory / "model" / "model.bin").is_file() else directory
    if not (model_dir / "model.bin").is_file():
        raise ModelError(
            f"{directory} is not a CTranslate2 model directory (no model.bin in it or in model/); convert the "
            "model with ct2-transformers-converter or use an Argos Translate package"
        )
    shared = directory / "sentencepiece.model"
    source, target = (shared, shared) if shared.is_file() else (directory / "source.spm", directory / "target.spm")
    for path in (source, target):
        if not path.is_file():
            raise ModelError(
                f"{directory} has no SentencePiece model (sentencepiece.model, or source.spm and target.spm)"
            )
    return MtModelLayout(model_dir, source, target)


def _check_metadata(path: Path, direction: Direction) -> None:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is not readable JSON: {exc}") from None
    found = f"{metadata.get('from_code', '?')}-{metadata.get('to_code', '?')}"
    if found != direction:
        raise ModelError(f"{path.parent} translates {found}, not {direction}")


class MtModelTranslator:
    """Drafts with a CTranslate2 model (loaded on first use, once; CTranslate2 is thread-safe)."""

    def __init__(self, directory: Path, direction: Direction, threads: int) -> None:
        self.layout = find_layout(directory, direction)  # fail at start-up, not on the first request
        self.direction = direction
        self.threads = threads
        self.name = f"mt:{directory.name}"
        self._lock = threading.Lock()
        self._loaded: tuple | None = None

    def draft(
        self,
        sentences: Sequence[str],
        direction: Direction,
        glossary: Mapping[str, str],
        tenant: str,
        hints: Sequence[str] | None = None,
    ) -> list[str]:
        """One translation per sentence (beam search, in one batch); hints and glossaries are not used."""
        if direction != self.direction:
            raise ModelError(f"the MT model {self.name} translates {self.direction}, not {direction}")
        translator, source_spm, target_spm = self._load()
        pieces = [source_spm.encode(s, out_type=str) for s in sentences]
        results = translator.translate_batch(pieces, beam_size=BEAM_SIZE, max_decoding_length=MAX_DECODING_LENGTH)
        return [target_spm.decode(r.hypotheses[0]).strip() for r in results]

    def _load(self) -> tuple:
        with self._lock:
            if self._loaded is None:
                import ctranslate2
                import sentencepiece

                try:
                    translator = ctranslate2.Translator(
                        str(self.layout.model_dir), device="cpu", intra_threads=self.threads
                    )
                    spms = [
                        sentencepiece.SentencePieceProcessor(model_file=str(p))
                        for p in (self.layout.source_spm, self.layout.target_spm)
                    ]
                except (RuntimeError, OSError, ValueError) as exc:
                    raise ModelError(f"cannot load the MT model in {self.layout.model_dir}: {exc}") from None
                self._loaded = (translator, *spms)
            return self._loaded


def mt_model_dirs(settings: Settings) -> dict[Direction, Path]:
    """The directions the settings give an MT model directory for."""
    configured: dict[Direction, Path | None] = {"zh-en": settings.mt_zh_en_dir, "en-zh": settings.mt_en_zh_dir}
    return {direction: path for direction, path in configured.items() if path is not None}
