"""SSML ``<say-as>``: the spoken form of text whose reading is given, not guessed.

``interpret-as="digits"`` reads digits one by one, ``"telephone"`` keeps a number's groups (+ is 加/plus,
1 is 幺 in Mandarin), ``"date"`` reads a written date in the ``format`` given (ymd, mdy, dmy…; a four-digit
first number is always the year). A date that cannot be read as one is normalized like any other text.
"""

from __future__ import annotations

import re

from shenggu.text.numbers_en import EN_MONTHS, en_digits, en_ordinal, en_year
from shenggu.text.numbers_zh import zh_below_100, zh_digits
from shenggu.tts import ssml
from shenggu.tts.normalize import normalize_clause

_DATE_PATTERNS = (
    (re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"), "ymd"),
    (re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})"), "mdy"),
    (re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?"), "ym"),
    (re.compile(r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"), "md"),
    (re.compile(r"(\d{4})\s*年?"), "y"),
)


def _say_digits(text: str, language: str, telephone: bool) -> str:
    """Digits one by one; a telephone number keeps its groups (and + becomes 加/plus), 1 is 幺 in Mandarin."""
    groups = re.findall(r"\+|\d+|[A-Za-z]+", text)
    if telephone and len(groups) == 1 and len(groups[0]) == 11 and groups[0].startswith("1"):
        groups = [groups[0][:3], groups[0][3:7], groups[0][7:]]  # a mobile number: 138 1234 5678
    spoken = []
    for group in groups:
        if group == "+":
            spoken.append("加" if language == "zh" else "plus")
        elif group.isdigit():
            spoken.append(zh_digits(group, yao=telephone) if language == "zh" else en_digits(group))
        else:
            spoken.append(group)
    if language == "zh":
        return " ".join(spoken) if telephone else "".join(spoken)
    return ", ".join(spoken) if telephone else " ".join(spoken)


def _parse_date(text: str, date_format: str | None) -> tuple[int | None, int | None, int | None] | None:
    """(year, month, day) of a written date, any part ``None``; ``None`` when it is not a valid date."""
    for pattern, shape in _DATE_PATTERNS:
        match = pattern.fullmatch(text.strip())
        if not match:
            continue
        numbers = [int(g) for g in match.groups()]
        # A format only reorders ambiguous dates: a four-digit first number is always the year.
        order = date_format if date_format and len(date_format) == len(shape) and shape[0] != "y" else shape
        if order == "mdy" and numbers[0] > 12:
            order = "dmy"  # 25/12/2023 can only be day first
        parts = dict(zip(order, numbers, strict=True))
        year, month, day = parts.get("y"), parts.get("m"), parts.get("d")
        if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
            return None
        return year, month, day
    return None


def _say_date(text: str, date_format: str | None, language: str) -> str | None:
    parsed = _parse_date(text, date_format)
    if parsed is None:
        return None
    year, month, day = parsed
    if language == "zh":
        spoken = f"{zh_digits(str(year))}年" if year is not None else ""
        spoken += f"{zh_below_100(month)}月" if month is not None else ""
        return spoken + (f"{zh_below_100(day)}日" if day is not None else "")
    words = [EN_MONTHS[month - 1]] if month is not None else []
    if day is not None:
        words.append(en_ordinal(day) + ("," if year is not None else ""))
    if year is not None:
        words.append(en_year(year))
    return " ".join(words)


def say_as(event: ssml.Text, language: str) -> str:
    """The spoken form of a ``<say-as>``; a date that cannot be read as one is normalized like any text."""
    if event.say_as == "date":
        spoken = _say_date(event.text, event.format, language)
        return spoken if spoken is not None else normalize_clause(event.text.strip(), language)
    return _say_digits(event.text, language, telephone=event.say_as == "telephone")


__all__ = ["say_as"]
