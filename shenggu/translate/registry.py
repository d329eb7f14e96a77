"""The translation engine the platform uses: per direction, an operator's MT model directory when one is set
(``SHENGGU_MT_ZH_EN_DIR`` / ``SHENGGU_MT_EN_ZH_DIR``), otherwise the local language model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shenggu.config import Settings
from shenggu.lazy import once_per
from shenggu.llm.llama import model_key
from shenggu.translate.types import Direction, Translator


class EngineByDirection:
    """Dispatches each direction to its engine (the pipeline asks ``for_direction`` so every sentence names the
    engine that really drafted it)."""

    def __init__(self, default: Translator, engines: Mapping[str, Translator]) -> None:
        self.default = default
        self.engines = dict(engines)
        self.name = default.name

    def for_direction(self, direction: str) -> Translator:
        """The engine of ``direction``."""
        return self.engines.get(direction, self.default)

    def draft(
        self,
        sentences: Sequence[str],
        direction: Direction,
        glossary: Mapping[str, str],
        tenant: str,
        hints: Sequence[str] | None = None,
    ) -> list[str]:
        """Drafts by the engine of ``direction``."""
        return self.for_direction(direction).draft(sentences, direction, glossary, tenant, hints)


@once_per(lambda settings: (settings.mt_zh_en_dir, settings.mt_en_zh_dir, settings.threads, model_key(settings)))
def get_translator(settings: Settings) -> Translator:
    """The translator the settings configure (built once per process; models load on first use). A configured MT
    directory that is missing or malformed is a ``ModelError`` naming it, raised here before any model work."""
    from shenggu.translate.llm_engine import LlmTranslator
    from shenggu.translate.mt_model import MtModelTranslator, mt_model_dirs

    engines = {
        direction: MtModelTranslator(path, direction, settings.threads)
        for direction, path in mt_model_dirs(settings).items()
    }
    return EngineByDirection(LlmTranslator(settings), engines)
