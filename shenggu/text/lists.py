"""Lists given as text: hotwords, hotword-list and glossary names in a query parameter, form field or CLI option."""

from __future__ import annotations

from collections.abc import Sequence


def split_commas(items: str | Sequence[str]) -> list[str]:
    """Items given as a list, comma-separated (ASCII or full-width commas), or both; blanks dropped."""
    texts = [items] if isinstance(items, str) else items
    return [w.strip() for text in texts for w in text.replace("，", ",").split(",") if w.strip()]
