"""Numbers in Mandarin: said digit by digit or below a hundred, and Chinese numerals read back into values.

The TTS normalizers and ``<say-as>`` (:mod:`shenggu.tts.normalize_zh`, :mod:`shenggu.tts.say_as`) say numbers
here where wetext reads them wrongly; the Mandarin ITN (:mod:`shenggu.nlp.itn`) and translation fact checks
(:mod:`shenggu.translate.facts`) parse positional numerals with :func:`parse_zh_positional`, a validating parser
that gives ``None`` for ranges and idioms (五六, 九九八十一) rather than guess. Pure functions, no dependencies.
"""

from __future__ import annotations

_ZH_DIGITS = "零一二三四五六七八九"
ZH_DIGIT_VALUES = dict(zip("零〇一幺二两三四五六七八九", (0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
ZH_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
ZH_BIG_UNITS = {"万": 10**4, "亿": 10**8}
ZH_NUMERALS = frozenset(ZH_DIGIT_VALUES) | frozenset(ZH_SMALL_UNITS) | frozenset(ZH_BIG_UNITS)
_ZEROS = frozenset("零〇")


def zh_digits(digits: str, yao: bool = False) -> str:
    """Digit-by-digit Mandarin reading; ``yao`` reads 1 as 幺, as in phone numbers."""
    return "".join(("幺" if yao and d == "1" else _ZH_DIGITS[int(d)]) for d in digits if d.isdigit())


def zh_below_100(n: int) -> str:
    """0–99 in Mandarin (months and days): 十, 十五, 二十, 三十一."""
    tens, ones = divmod(n, 10)
    if n < 10:
        return _ZH_DIGITS[n]
    head = "" if tens == 1 else _ZH_DIGITS[tens]
    return f"{head}十{_ZH_DIGITS[ones] if ones else ''}"


def parse_zh_positional(text: str) -> int | None:
    """Value of a positional integer (一千零八, 三千五, 一万二, 十五); ``None`` when malformed.

    Rejects adjacent digits (五六, 九九八十一: ranges or digit strings), units out of order (十百) and a
    trailing 零, so only readings with one clear meaning are converted.
    """
    if text in _ZEROS:
        return 0
    total = section = 0
    digit: int | None = None
    digit_char = ""
    last_small = 10**4  # small units must strictly decrease within a 万-section
    last_big: int | None = None
    prev_unit: int | None = None  # unit just before a trailing digit: 三千五 = 3500
    after_zero = False
    for ch in text:
        if ch in _ZEROS:
            if digit is not None:
                return None
            after_zero = True
        elif ch in ZH_DIGIT_VALUES and ch != "幺":  # 幺 only occurs in digit-by-digit readings
            if digit is not None:
                return None
            digit, digit_char = ZH_DIGIT_VALUES[ch], ch
        elif ch in ZH_SMALL_UNITS:
            unit = ZH_SMALL_UNITS[ch]
            if unit >= last_small:
                return None
            if digit is None:
                if unit != 10 or section or total:  # only a leading 十 may omit its 一
                    return None
                digit = 1
            elif unit == 10 and digit_char == "两":
                return None  # 两十 is not Mandarin
            section += digit * unit
            last_small, prev_unit, digit, after_zero = unit, unit, None, False
        elif ch in ZH_BIG_UNITS:
            unit = ZH_BIG_UNITS[ch]
            section += digit or 0
            if section == 0 or (last_big is not None and unit >= last_big):
                return None
            total += section * unit
            section, last_small, last_big, prev_unit, digit, after_zero = 0, 10**4, unit, unit, None, False
        else:
            return None
    if digit is not None:
        if after_zero or prev_unit is None or prev_unit == 10:
            section += digit
        elif digit_char == "两":
            return None  # 一千两 is as likely "1000 taels" as 1200
        else:
            section += digit * prev_unit // 10
    elif after_zero:
        return None
    return total + section


__all__ = [
    "ZH_BIG_UNITS",
    "ZH_DIGIT_VALUES",
    "ZH_NUMERALS",
    "ZH_SMALL_UNITS",
    "parse_zh_positional",
    "zh_below_100",
    "zh_digits",
]
