"""The translation engine the platform uses: the local LLM unless an operator's MT model directory is set."""

from __future__ import annotations

from shenggu.lazy import once
from shenggu.translate.types import Translator


@once
def get_translator() -> Translator:
    """The default translator (built once per process; the model itself loads on first use)."""
    from shenggu.translate.llm_engine import LlmTranslator

    return LlmTranslator()
