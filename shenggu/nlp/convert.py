"""Simplified ↔ traditional Chinese with OpenCC (the converter ASR already uses for t2s).

    convert("软件和鼠标", "s2t")   → 軟件和鼠標       (characters only)
    convert("软件和鼠标", "s2twp") → 軟體和滑鼠       (Taiwan characters and Taiwan words)
    convert("軟體和滑鼠", "tw2sp") → 软件和鼠标

Conversions are OpenCC's configurations: s2t/t2s (OpenCC standard traditional), s2tw/tw2s (Taiwan),
s2twp/tw2sp (Taiwan, with phrases: 软件 ↔ 軟體), s2hk/hk2s (Hong Kong), t2tw, tw2t, t2hk, hk2t (between
traditional variants), t2jp/jp2t (Japanese shinjitai ↔ traditional). Each converter loads once, on first use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from shenggu.errors import InvalidOptionError
from shenggu.text.chinese import to_simplified

CONVERSIONS = {
    "s2t": "simplified → traditional",
    "t2s": "traditional → simplified",
    "s2tw": "simplified → traditional (Taiwan)",
    "tw2s": "traditional (Taiwan) → simplified",
    "s2twp": "simplified → traditional (Taiwan), with Taiwan words",
    "tw2sp": "traditional (Taiwan) → simplified, with mainland words",
    "s2hk": "simplified → traditional (Hong Kong)",
    "hk2s": "traditional (Hong Kong) → simplified",
    "t2tw": "traditional → traditional (Taiwan)",
    "tw2t": "traditional (Taiwan) → traditional",
    "t2hk": "traditional → traditional (Hong Kong)",
    "hk2t": "traditional (Hong Kong) → traditional",
    "t2jp": "traditional → Japanese shinjitai",
    "jp2t": "Japanese shinjitai → traditional",
}

_converters: dict[str, object] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Conversion:
    """The converted text and the conversion that made it."""

    text: str
    conversion: str

    def to_dict(self) -> dict:
        """JSON form for the API and ``--format json``."""
        return {"text": self.text, "conversion": self.conversion}


def _converter(conversion: str):
    converter = _converters.get(conversion)
    if converter is None:
        with _lock:
            converter = _converters.get(conversion)
            if converter is None:
                import opencc

                converter = _converters[conversion] = opencc.OpenCC(conversion)
    return converter


def convert(text: str, conversion: str = "s2t") -> Conversion:
    """Convert ``text`` with one of :data:`CONVERSIONS`; anything that is not Chinese passes through.

    Raises :class:`~shenggu.errors.InvalidOptionError` for an unknown conversion.
    """
    if conversion not in CONVERSIONS:
        raise InvalidOptionError(f"unknown conversion '{conversion[:20]}' (choose {', '.join(CONVERSIONS)})")
    if conversion == "t2s":
        return Conversion(to_simplified(text), conversion)
    return Conversion(_converter(conversion).convert(text), conversion)


__all__ = ["CONVERSIONS", "Conversion", "convert"]
