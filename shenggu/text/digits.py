"""Numbers written in digits, found and put in one form, so that a value can be looked up in another text
(12.50 = 12.5, 007 = 7): what the grounding checks of generated text compare."""

from __future__ import annotations

import re

DIGIT_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def canonical_number(number: str) -> str:
    """A digit number without the zeros that do not change its value: ``12.50`` → ``12.5``, ``007`` → ``7``."""
    return number.rstrip("0").rstrip(".") if "." in number else number.lstrip("0") or "0"


def written_numbers(text: str) -> list[str]:
    """The digit numbers of ``text`` in canonical form, each once, in order."""
    return list(dict.fromkeys(canonical_number(n) for n in DIGIT_NUMBER.findall(text)))
