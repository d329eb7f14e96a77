"""Numbers as English words: digit by digit, cardinals, decimals, ordinals, years, month names.

The TTS normalizers' pre-passes (:mod:`shenggu.tts.normalize_en`), ``<say-as>`` (:mod:`shenggu.tts.say_as`) and
the leftover-digit fallback read numbers here themselves wherever wetext reads them wrongly; cardinals put "and"
in the last hundreds the way wetext does, so both readings sound alike. English number words are read back into
values by :mod:`shenggu.text.numbers_en_parse`. Pure functions, no dependencies.
"""

from __future__ import annotations

_EN_SMALL = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_EN_IRREGULAR_ORDINALS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
    "twelve": "twelfth",
}  # fmt: skip
EN_NUMBER_WORDS = frozenset(
    [*_EN_SMALL, *_EN_TENS[2:], "hundred", "thousand", "million", "billion", "trillion", "point", "and", "oh"]
)
EN_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip


def en_digits(digits: str) -> str:
    """Digit-by-digit English reading: 042 → zero four two (other characters skipped)."""
    return " ".join(_EN_SMALL[int(d)] for d in digits if d.isdigit())


def _en_below_1000(n: int, with_and: bool = False) -> list[str]:
    words = []
    if n >= 100:
        words += [_EN_SMALL[n // 100], "hundred"]
        n %= 100
        if n and with_and:
            words.append("and")
    if n >= 20:
        words.append(_EN_TENS[n // 10])
        n %= 10
        if n:
            words.append(_EN_SMALL[n])
    elif n:
        words.append(_EN_SMALL[n])
    return words


def en_cardinal(n: int) -> str:
    """An integer in English words, "and" in the last hundreds as wetext says it: 1234 → one thousand two hundred
    and thirty four."""
    if n < 0:
        return f"minus {en_cardinal(-n)}"
    if n == 0:
        return "zero"
    if n >= 10**15:
        return en_digits(str(n))  # an identifier more likely than a quantity
    words: list[str] = []
    for value, name in _EN_SCALES:
        if n >= value:
            words += [*_en_below_1000(n // value), name]
            n %= value
    return " ".join(words + _en_below_1000(n, with_and=True))


def en_decimal(integer: str, fraction: str) -> str:
    """A decimal number in English words, the fraction digit by digit: ("3", "14") → three point one four."""
    whole = en_cardinal(int(integer.replace(",", "") or "0"))
    return f"{whole} point {en_digits(fraction)}" if fraction else whole


def en_ordinal(n: int) -> str:
    """An ordinal in English words: 3 → third, 21 → twenty first, 40 → fortieth."""
    words = en_cardinal(n).split()
    last = words[-1]
    words[-1] = _EN_IRREGULAR_ORDINALS.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return " ".join(words)


def en_year(year: int) -> str:
    """Years as they are said: 1998 → nineteen ninety eight, 2005 → two thousand five, 1900 → nineteen hundred."""
    if year < 1000 or 2000 <= year <= 2009 or year % 1000 == 0:
        return en_cardinal(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{en_cardinal(high)} hundred"
    if low < 10:
        return f"{en_cardinal(high)} oh {_EN_SMALL[low]}"
    return f"{en_cardinal(high)} {en_cardinal(low)}"


__all__ = [
    "EN_MONTHS",
    "EN_NUMBER_WORDS",
    "en_cardinal",
    "en_decimal",
    "en_digits",
    "en_ordinal",
    "en_year",
]
