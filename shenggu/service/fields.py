"""Field types shared by request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shenggu.errors import InvalidOptionError


def readable_text(text: str) -> str:
    """A text with something besides blanks in it, and valid Unicode (no unpaired surrogates)."""
    if not text.strip():
        raise ValueError("text is blank")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValueError("text has unpaired surrogate characters (not valid Unicode)")
    return text


ReadableText = Annotated[str, AfterValidator(readable_text)]


def form_flag(value: object, name: str, default: bool = True) -> bool:
    """A boolean form field or query parameter (true/false, 1/0, yes/no, on/off; absent: ``default``)."""
    if value is None:
        return default
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise InvalidOptionError(f"{name} must be true or false")
