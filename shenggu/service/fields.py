"""Field types shared by request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def readable_text(text: str) -> str:
    """A text with something besides blanks in it, and valid Unicode (no unpaired surrogates)."""
    if not text.strip():
        raise ValueError("text is blank")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValueError("text has unpaired surrogate characters (not valid Unicode)")
    return text


ReadableText = Annotated[str, AfterValidator(readable_text)]
