"""The voice catalogue and the engines behind it (each loaded lazily, once per process and configuration)."""

from __future__ import annotations

from pathlib import Path

from shenggu.config import Settings
from shenggu.errors import InvalidOptionError
from shenggu.lazy import once, once_per
from shenggu.tts.types import Synthesizer, Voice

# Mandarin tone errors in the descriptions: ../shared/MODELS.md's round trip through Whisper (zf_xiaoni, 42 %,
# is left out); `shenggu bench tts` measures them again on this machine.
VOICES: dict[str, Voice] = {
    v.id: v
    for v in (
        Voice("zf_xiaoxiao", "zh", "female", "kokoro", 24000, "Mandarin, female, clear (Kokoro; 0 % tone errors)"),
        Voice("zf_xiaoyi", "zh", "female", "kokoro", 24000, "Mandarin, female, soft (Kokoro; 4.7 % tone errors)"),
        Voice("zm_yunxi", "zh", "male", "kokoro", 24000, "Mandarin, male, young (Kokoro; 2.3 % tone errors)"),
        Voice("zm_yunxia", "zh", "male", "kokoro", 24000, "Mandarin, male, bright (Kokoro; 2.3 % tone errors)"),
        Voice("zm_yunjian", "zh", "male", "kokoro", 24000, "Mandarin, male, deep (Kokoro; 4.7 % tone errors)"),
        Voice("en_joe", "en", "male", "piper", 22050, "US English, male (Piper en_US-joe-medium; GPL engine)"),
    )
}
DEFAULT_VOICES = {"zh": "zf_xiaoxiao", "en": "en_joe"}
# OpenAI's voice names map to ours, so unmodified OpenAI clients work (pipecat's OpenAITTSService accepts these
# thirteen only); they answer at OpenAI's 24 kHz.
OPENAI_VOICES = {
    "alloy": "zf_xiaoxiao", "nova": "zf_xiaoxiao", "shimmer": "zf_xiaoyi", "coral": "zf_xiaoyi",
    "marin": "zf_xiaoyi", "echo": "zm_yunxi", "onyx": "zm_yunjian", "fable": "zm_yunxia", "verse": "zm_yunxia",
    "ballad": "zm_yunxi", "cedar": "zm_yunjian", "ash": "en_joe", "sage": "en_joe",
}  # fmt: skip
OPENAI_RATE = 24000


def get_voice(name: str) -> Voice:
    """A voice by its id or OpenAI name; a clear error listing the choices otherwise."""
    voice = VOICES.get(OPENAI_VOICES.get(name, name))
    if voice is None:
        raise InvalidOptionError(f"unknown voice '{name[:40]}' (choose from: {', '.join(VOICES)})")
    return voice


@once_per(lambda *args: args)
def _kokoro(threads: int, models_dir: Path) -> Synthesizer:
    from shenggu.tts.kokoro import KokoroSynthesizer

    return KokoroSynthesizer([v.id for v in VOICES.values() if v.engine == "kokoro"], threads, models_dir)


@once
def _piper() -> Synthesizer:
    from shenggu.tts.piper import PiperSynthesizer

    return PiperSynthesizer()


def engine_for(voice: Voice, settings: Settings) -> Synthesizer:
    """The (shared) engine that speaks ``voice``, with the settings' threads and model cache."""
    return _kokoro(settings.threads, settings.models_dir) if voice.engine == "kokoro" else _piper()
