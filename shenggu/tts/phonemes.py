"""Kokoro phonemes for spoken-form text (after :func:`shenggu.tts.frontend.plan_speech`).

Phonemes (:func:`kokoro_phonemes`): Mandarin through misaki's ``ZHG2P()`` (its default, legacy version: jieba
words → pypinyin → IPA with tone arrows, the phoneme set Kokoro v1.0 was trained on; its ``en_callable`` hook
only exists in version 1.1, whose bopomofo output does not match this vocabulary, and the legacy version
copies Latin letters through as they are). Latin runs are therefore cut out here and phonemized with espeak-ng
(piper's bundled build, en-us), mapped to misaki's English phoneme conventions (``eɪ`` → ``A``, ``oʊ`` →
``O``, flap ``ɾ`` → ``T``…) the way misaki's own espeak fallback does; acronyms in capitals (CEO, AI) are
spelled with misaki's letter names. Characters outside Kokoro's vocabulary are dropped.

Pinyin by the same jieba words misaki reads with is :func:`shenggu.text.pinyin.pinyin`.

Everything heavy (jieba's dictionary, misaki, espeak, Kokoro's vocabulary) loads lazily, once per process,
thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.text.chinese import load_jieba
from shenggu.text.script import HAN
from shenggu.tts.pieces import LANGUAGES, TextPiece

# misaki's US-English letter names (its gold lexicon), for spelling acronyms the way Kokoro heard them.
_LETTER_NAMES = {
    "A": "ˈA", "B": "bˈi", "C": "sˈi", "D": "dˈi", "E": "ˈi", "F": "ˈɛf", "G": "ʤˈi", "H": "ˈAʧ", "I": "ˈI",
    "J": "ʤˈA", "K": "kˈA", "L": "ˈɛl", "M": "ˈɛm", "N": "ˈɛn", "O": "ˈO", "P": "pˈi", "Q": "kjˈu", "R": "ˈɑɹ",
    "S": "ˈɛs", "T": "tˈi", "U": "jˈu", "V": "vˈi", "W": "dˈʌbᵊlju", "X": "ˈɛks", "Y": "wˈI", "Z": "zˈi",
}  # fmt: skip
# Capitalized words said as words, not letters.
_WORD_ACRONYMS = frozenset(
    ("NASA", "NATO", "UNESCO", "UNICEF", "COVID", "OPEC", "FIFA", "LASER", "RADAR", "SCUBA", "AIDS", "ASEAN",
     "NASDAQ", "GIF", "JPEG", "PIN", "SIM", "WASP")
)  # fmt: skip
# espeak IPA → misaki's phoneme conventions (misaki's EspeakFallback.E2M, US, for its v1.0 phoneme set);
# espeakbridge writes no tie bars, so the tied pairs are matched as plain pairs, longest first.
_E2M = {
    "ʔˌn\u0329": "ʔn", "ʔn\u0329": "ʔn", "aɪ": "I", "aʊ": "W", "dʒ": "ʤ", "eɪ": "A", "e": "A", "tʃ": "ʧ",
    "ɔɪ": "Y", "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚ": "əɹ", "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l",
    "\u0303": "",
}  # fmt: skip
_ESPEAK_TO_MISAKI = sorted(_E2M.items(), key=lambda item: -len(item[0]))
_LATIN_RUN = re.compile(r"[A-Za-z](?:[A-Za-z'’.&-]*[A-Za-z])?(?:\s+[A-Za-z](?:[A-Za-z'’.&-]*[A-Za-z])?)*")
_CAPS_WORD = re.compile(r"(?<![A-Za-z'’])[A-Z]{2,5}(?![A-Za-z'’])")
_SINGLE_CAPITAL = re.compile(r"(?<![A-Za-z'’])[A-Z](?![A-Za-z'’])")


@once
def _vocab() -> frozenset[str]:
    """The phoneme characters Kokoro v1.0 has token ids for."""
    from shenggu.tts.models import kokoro_vocab

    return frozenset(kokoro_vocab())


@once
def _zh_g2p() -> Callable[[str], str]:
    """misaki's Mandarin G2P, default (legacy) version; it loads jieba's dictionary on first use."""
    from misaki import zh

    load_jieba()  # the same jieba, initialized quietly
    g2p = zh.ZHG2P()

    def phonemize(text: str) -> str:
        return g2p(text)[0] if text.strip() else ""

    return phonemize


@once
def _espeak() -> Callable[[str], str]:
    """espeak-ng (piper's build, en-us): text → IPA with its clause punctuation. One voice, so one lock."""
    from piper import espeakbridge
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    espeakbridge.initialize(str(ESPEAK_DATA_DIR))
    lock = threading.Lock()

    def phonemize(text: str) -> str:
        with lock:  # espeak-ng keeps its voice and buffers in globals
            espeakbridge.set_voice("en-us")
            clauses = espeakbridge.get_phonemes(text)
        parts = [re.sub(r"\([^)]*\)", "", phonemes) + terminator for phonemes, terminator, _ in clauses]
        return " ".join(p for p in parts if p)

    return phonemize


def _espeak_to_misaki(phonemes: str) -> str:
    for old, new in _ESPEAK_TO_MISAKI:
        phonemes = phonemes.replace(old, new)
    phonemes = re.sub(r"(\S)\u0329", r"ᵊ\1", phonemes).replace("\u0329", "")
    phonemes = phonemes.replace("oʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə")
    phonemes = phonemes.replace("ː", "").replace("o", "ɔ")  # espeak < 1.52 wrote o for ɔ
    return phonemes.replace("ɾ", "T").replace("ʔ", "t")  # misaki's v1.0 symbols for the flap and glottal stop


def _spell(word: str) -> str:
    """An acronym letter by letter, stressed on the last letter as misaki does (CEO → sˌiˌiˈO)."""
    phonemes = "".join(_LETTER_NAMES[ch] for ch in word.upper()).replace("ˈ", "ˌ")
    head, mark, tail = phonemes.rpartition("ˌ")
    return f"{head}ˈ{tail}" if mark else phonemes


def _english_phonemes(text: str, in_chinese: bool) -> str:
    """English text as misaki-style IPA: capitalized acronyms spelled, the rest through espeak.

    In Chinese text a lone capital is a letter (A股, X光, 维生素C); in English it may be the article "A".
    A text shouted in capitals is read as words, not spelled.
    """
    words = re.findall(r"[A-Za-z]+", text)
    caps = [w for w in words if len(w) > 1 and w.isupper()]
    if len(caps) >= 3 and len(caps) * 2 > len(words):
        return _espeak_to_misaki(_espeak()(text.lower()))
    pattern = _SINGLE_CAPITAL if in_chinese else None
    parts, start = [], 0
    spans = [m.span() for m in _CAPS_WORD.finditer(text) if m.group(0) not in _WORD_ACRONYMS]
    if pattern is not None:
        spans += [m.span() for m in pattern.finditer(text)]
    for begin, end in sorted(spans):
        parts.append(_espeak_to_misaki(_espeak()(text[start:begin])) if text[start:begin].strip() else "")
        parts.append(_spell(text[begin:end]))
        start = end
    rest = text[start:]
    if rest.strip():
        parts.append(_espeak_to_misaki(_espeak()(rest.lower() if rest.isupper() else rest)))
    return " ".join(p.strip() for p in parts if p.strip())


def _raw_phonemes(text: str, language: str) -> str:
    """Phonemes before the vocabulary filter: Chinese through misaki, Latin runs (or English text) through espeak."""
    if language == "zh":
        segments = re.split(f"({_LATIN_RUN.pattern})", text)
        latin = [i % 2 == 1 for i in range(len(segments))]
    else:
        segments = re.split(f"([{HAN}]+)", text)
        latin = [i % 2 == 0 for i in range(len(segments))]
    parts = []
    for segment, is_english in zip(segments, latin, strict=True):
        if not segment.strip():
            continue
        parts.append(_english_phonemes(segment, language == "zh") if is_english else _zh_g2p()(segment))
    phonemes = re.sub(r"\s+", " ", " ".join(p.strip() for p in parts if p.strip())).strip()
    return re.sub(r" ([,.!?;:])", r"\1", phonemes)  # "həlˈO ,ni↓xau↓" → "həlˈO,ni↓xau↓"


def kokoro_phonemes(piece: TextPiece) -> str:
    """The phoneme string Kokoro v1.0 expects for ``piece`` (one token per character).

    Mandarin: misaki's IPA with tone arrows, Latin runs (iPhone, Wi-Fi, CEO) as English IPA; English: espeak
    IPA (en-us) in misaki's conventions. Characters outside Kokoro's vocabulary are dropped.
    """
    if piece.language not in LANGUAGES:
        raise InvalidOptionError(f"language '{piece.language[:20]}' has no Kokoro phonemes (use zh or en)")
    vocab = _vocab()
    return "".join(ch for ch in _raw_phonemes(piece.text, piece.language) if ch in vocab)


__all__ = ["kokoro_phonemes"]
