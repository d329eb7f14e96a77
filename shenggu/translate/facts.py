"""Facts a translation must keep, read from Chinese or English text as values both languages share.

    患者二十三岁，每次服用阿莫西林500毫克，共七天
    The 23-year-old patient takes 500 mg of amoxicillin each time, for seven days
      → number 23 year · drug amoxicillin · number 500 mg · number 7 day (in both)

Kinds of :class:`Fact`:

- ``number``: integers, decimals, fractions, percentages and ordinals as exact :class:`~fractions.Fraction`
  values, with the unit or currency attached (5万 = 50,000 = 50 thousand, 1.2亿 = 120 million, 3成 = 30%,
  三分之二 = two thirds, 一个半小时 = 1.5 h, 第三 = third = 3rd). A year alone is a number with unit ``year``.
- ``date`` (:class:`Date`: year, month, day as written: 2023年3月5日 = March 5, 2023 = 5 March 2023).
- ``time`` (:class:`Clock`: 下午3点 = 3 pm = 15:00; 3点 alone = 3:00 = 3 o'clock, half of day unknown).
- ``weekday`` (0 = Monday), ``drug`` (canonical English name, :mod:`shenggu.translate.drugs`).
- ``latin``: words that must stay as written: every Latin-script word of Chinese text (names, brands,
  codes: G101, iPhone, WHO) and, in English text, codes with digits (G101, COVID-19).

``weak`` facts are too easily dropped or added by a correct translation to be required ("a", 一个, "first",
"half", 半天, "noon"); they only count when they match. Chinese text first goes through the Mandarin ITN
(:mod:`shenggu.nlp.itn`) and its guards against idioms (一起, 十分, 三十六计); the numerals it leaves on
purpose (第三, 两个, 七天, 三成, 三分之二, 三点) are read here when 第, a classifier or a unit shows they are
quantities. Each fact keeps its surface in the original text. The first Chinese call loads wetext and jieba
(~1 s); after that a sentence takes about a millisecond.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple, cast

from shenggu.nlp.itn import inverse_normalize
from shenggu.text.chinese import load_jieba
from shenggu.text.numbers_en import EN_MONTHS, en_cardinal
from shenggu.text.numbers_en_parse import (
    EN_NUMBER_WORD_RUN,
    EN_SCALE_WORDS,
    WordNumber,
    parse_en_number,
    read_en_numbers,
)
from shenggu.text.numbers_zh import parse_zh_positional
from shenggu.translate.drugs import find_drugs

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Date(NamedTuple):
    """A calendar date as far as the text gives it (at least a month)."""

    year: int | None
    month: int
    day: int | None

    def __str__(self) -> str:
        month = EN_MONTHS[self.month - 1]
        if self.day is None:
            return f"{month} {self.year}" if self.year else month
        return f"{month} {self.day}, {self.year}" if self.year else f"{month} {self.day}"


class Clock(NamedTuple):
    """A time of day; ``hour`` is 0-23 when ``explicit`` (am/pm, 下午, 15:00), else as written (3 for 3点)."""

    hour: int
    minute: int
    explicit: bool

    def __str__(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}" if self.explicit else f"{self.hour}:{self.minute:02d}"

    def same(self, other: Clock) -> bool:
        """Same time; when either side does not say am or pm, 3:00 and 15:00 are the same."""
        if self.minute != other.minute:
            return False
        if self.explicit and other.explicit:
            return self.hour == other.hour
        return self.hour % 12 == other.hour % 12


@dataclass(frozen=True)
class Fact:
    """One fact of a text: its kind, normalized value, unit (numbers only), words in the text and weight."""

    kind: str  # number | date | time | weekday | drug | latin
    value: Fraction | Date | Clock | int | str
    unit: str | None = None
    surface: str = ""
    weak: bool = False
    position: int = field(default=0, compare=False)

    def describe(self) -> str:
        """The value in a readable, language-neutral form: 50,000 CNY, 500 mg, 30%, March 5, 2023, 15:00."""
        if self.kind == "weekday" and isinstance(self.value, int):
            return WEEKDAYS[self.value]
        if not isinstance(self.value, Fraction):
            return str(self.value)
        number = format_number(self.value)
        if self.unit is None:
            return number
        return f"{number}{self.unit}" if self.unit in ("%", "°C", "°F") else f"{number} {self.unit}"


def format_number(value: Fraction) -> str:
    """23, 1.5, -5, 50,000 (separators from five digits, so years stay 2023), 2/3 when not a finite decimal."""
    if value.denominator == 1:
        return f"{value.numerator:,}" if abs(value) >= 10_000 else str(value.numerator)
    rest = value.denominator
    for factor in (2, 5):
        while rest % factor == 0:
            rest //= factor
    if rest != 1:  # 1/3 has no finite decimal
        return f"{value.numerator}/{value.denominator}"
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


# --------------------------------------------------------------------------------------------------------
# Units: each has a dimension and a size in that dimension's base, so 500 mg = 0.5 g and 90 min = 1.5 h
# --------------------------------------------------------------------------------------------------------

_F = Fraction
_UNIT_SIZES: dict[str, tuple[str, Fraction]] = {
    "μg": ("mass", _F(1, 10**6)), "mg": ("mass", _F(1, 1000)), "g": ("mass", _F(1)), "kg": ("mass", _F(1000)),
    "jin": ("mass", _F(500)), "t": ("mass", _F(10**6)), "lb": ("mass", _F("453.59237")),
    "mm": ("length", _F(1, 1000)), "cm": ("length", _F(1, 100)), "m": ("length", _F(1)),
    "km": ("length", _F(1000)), "mile": ("length", _F("1609.344")), "inch": ("length", _F("0.0254")),
    "foot": ("length", _F("0.3048")),
    "ml": ("volume", _F(1, 1000)), "l": ("volume", _F(1)),
    "s": ("time", _F(1)), "min": ("time", _F(60)), "h": ("time", _F(3600)), "day": ("time", _F(86400)),
    "week": ("time", _F(604800)), "month": ("calendar", _F(1)), "year": ("calendar", _F(12)),
    "%": ("%", _F(1)), "pp": ("pp", _F(1)), "°C": ("°C", _F(1)), "°F": ("°F", _F(1)), "angle": ("angle", _F(1)),
    "kWh": ("kWh", _F(1)), "mmHg": ("mmHg", _F(1)),
    **{code: (code, _F(1)) for code in ("CNY", "USD", "HKD", "EUR", "GBP", "JPY", "KRW", "AUD", "CAD", "TWD")},
}  # fmt: skip
# Surfaces that can mean several units ("degrees", "$", "pounds", ¥, 度): any meaning may match.
_AMBIGUOUS = {
    "degree": ("°C", "°F", "angle", "kWh"),
    "dollar": ("USD", "HKD", "AUD", "CAD", "TWD"),
    "pound": ("lb", "GBP"),
    "¥": ("CNY", "JPY"),
}


def same_quantity(a: Fact, b: Fact) -> bool:
    """Whether two numbers state the same amount: equal values when a unit is missing on either side, else
    equal once converted (500 mg = 0.5 g, 5斤 = 2.5 kg, 90 minutes = 1.5 hours); units of different
    dimensions never match (5 kg ≠ 5 g ≠ 5 km)."""
    if a.unit is None or b.unit is None:
        return a.value == b.value
    value_a, value_b = cast(Fraction, a.value), cast(Fraction, b.value)
    for unit_a in _AMBIGUOUS.get(a.unit, (a.unit,)):
        for unit_b in _AMBIGUOUS.get(b.unit, (b.unit,)):
            (dim_a, size_a), (dim_b, size_b) = _UNIT_SIZES[unit_a], _UNIT_SIZES[unit_b]
            if dim_a == dim_b and value_a * size_a == value_b * size_b:
                return True
    return False


# --------------------------------------------------------------------------------------------------------
# Scanning: each pattern's matches become facts and are blanked, so later patterns do not read them again
# --------------------------------------------------------------------------------------------------------

_BLANK = "\x00"
_Reader = Callable[[re.Match[str]], list[Fact] | None]


class _Scanner:
    """Text being read: its facts so far, and the text with what they were read from blanked out."""

    def __init__(self, text: str, surface: Callable[[int, int], str]) -> None:
        self.text = text
        self.surface = surface
        self.facts: list[Fact] = []

    def scan(self, pattern: re.Pattern[str], read: _Reader) -> None:
        """Facts from every match ``read`` accepts (it returns ``None`` to leave the text to later patterns)."""
        chars = list(self.text)
        for match in pattern.finditer(self.text):
            facts = read(match)
            if facts is None:
                continue
            start, end = match.span()
            surface = self.surface(start, end).strip()
            self.facts += [replace(fact, surface=surface, position=start) for fact in facts]
            chars[start:end] = _BLANK * (end - start)
        self.text = "".join(chars)


def _number(value: Fraction, unit: str | None = None, weak: bool = False) -> Fact:
    # 1 is too easily dropped or added by a correct translation ("a", "every", 一个, 每) to be required
    return Fact("number", value, unit, weak=weak or value == 1)


def _read_drugs(scanner: _Scanner) -> None:
    chars = list(scanner.text)
    for mention in find_drugs(scanner.text):
        surface = scanner.surface(mention.start, mention.end)
        scanner.facts.append(Fact("drug", mention.drug.name, surface=surface, position=mention.start))
        chars[mention.start : mention.end] = _BLANK * (mention.end - mention.start)
    scanner.text = "".join(chars)


# Codes keep their digits: G101, COVID-19, PM2.5, B12, iPhone15, 5G. Not codes: 5mg, 3rd, 3pm, RMB50.
_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]+(?:[-.'&][A-Za-z0-9]+)*(?![A-Za-z0-9])")
_CODE_SHAPE = re.compile(r"(?!(?:RMB|CNY|USD|EUR|GBP|HKD|JPY)\d)[A-Za-z].*\d.*|\d+[A-Z][A-Za-z0-9]*")


def _read_code(match: re.Match[str]) -> list[Fact] | None:
    return [Fact("latin", match.group())] if _CODE_SHAPE.fullmatch(match.group()) else None


def _read_latin_word(match: re.Match[str]) -> list[Fact] | None:
    word = match.group()
    # single letters are parts of Chinese words (B超, X光, A股) whose translations spell them differently
    return [Fact("latin", word)] if len(word) > 1 and any(ch.isalpha() for ch in word) else None


# Fractions written with a slash (2/3); 140/90 (blood pressure) and 3/5/2023 (a date) are not fractions.
_SLASH_FRACTION = re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,3})(?![\d/])")


def _read_slash_fraction(match: re.Match[str]) -> list[Fact] | None:
    numerator, denominator = int(match[1]), int(match[2])
    return [_number(Fraction(numerator, denominator))] if 0 < numerator < denominator else None


# Digits with optional thousands separators and decimals; bounded, as longer runs are identifiers, not amounts.
_DIGITS = r"(?:\d{1,3}(?:,\d{3}){1,8}|\d{1,30})(?:\.\d{1,30})?(?!\d|\.\d)"
_ISO_DATE = re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d|\.\d)")


def _date(year: int | None, month: int, day: int | None) -> list[Fact] | None:
    valid = 1 <= month <= 12 and (day is None or 1 <= day <= 31)
    return [Fact("date", Date(year, month, day))] if valid else None


def _read_iso_date(match: re.Match[str]) -> list[Fact] | None:
    return _date(int(match[1]), int(match[2]), int(match[3]))


# --------------------------------------------------------------------------------------------------------
# Chinese
# --------------------------------------------------------------------------------------------------------

_CN = "零〇一二两三四五六七八九十百千万亿"
_CN_SMALL = "零〇一二两三四五六七八九十"  # months, days, hours
_SMALL = rf"\d{{1,2}}|[{_CN_SMALL}]{{1,3}}"


def _zh_int(text: str) -> int | None:
    """23 or 二十三 → 23; None for what is not one well-formed number (五六, 千万)."""
    return int(text) if text.isascii() else parse_zh_positional(text.replace("〇", "零"))


# News text often spaces digits from 年/月/日 ("2021 年 7 月 16 日"): one optional space is read through.
_ZH_DATE = re.compile(
    rf"(?<![\d{_CN}个几第])(?:(?P<y>\d{{4}}) ?年 ?)?(?P<m>{_SMALL}) ?月份?(?: ?(?P<d>{_SMALL}) ?[日号])?"
)


def _read_zh_date(match: re.Match[str]) -> list[Fact] | None:
    month, day = _zh_int(match["m"]), _zh_int(match["d"]) if match["d"] else None
    if month is None or (match["d"] and day is None):
        return None
    return _date(int(match["y"]) if match["y"] else None, month, day)


# 周三次 is "three times a week", 一周 "one week": no numeral before, no count word after.
_ZH_WEEKDAY = re.compile(rf"(?<![\d{_CN}])(?:星期|礼拜|周)(?P<d>[一二三四五六日天])(?![\d{_CN}次个天回遍])")


def _read_zh_weekday(match: re.Match[str]) -> list[Fact] | None:
    return [Fact("weekday", min("一二三四五六日天".index(match["d"]), 6))]


_ZH_AM = ("凌晨", "清晨", "早上", "早晨", "上午", "今早", "明早", "半夜")
_ZH_PM = ("下午", "傍晚", "晚上", "夜里", "夜间", "今晚", "明晚", "昨晚")
_ZH_TIME = re.compile(
    rf"(?P<p>{'|'.join((*_ZH_AM, *_ZH_PM, '中午'))})?(?<![\d{_CN}第几])(?P<h>{_SMALL})"
    rf"(?:[:：](?P<m>\d{{2}})(?:[:：]\d{{2}})?(?!\d)"
    rf"|[点时](?:(?P<m2>{_SMALL})分?|(?P<half>半)|(?P<q>[一三])刻)?钟?)"
)


def _read_zh_time(match: re.Match[str]) -> list[Fact] | None:
    period, hour = match["p"], _zh_int(match["h"])
    minutes = match["m"] or match["m2"]
    minute = _zh_int(minutes) if minutes else 30 if match["half"] else {"一": 15, "三": 45}.get(match["q"], 0)
    if hour is None or minute is None or hour > 24 or minute > 59:
        return None
    if not period and not minutes and match["h"] == "一" and not match["half"]:
        return None  # 一点 "a little", 一时 "for a moment"
    if (period in _ZH_PM and hour < 12) or (period == "中午" and hour < 6):  # 中午1点 is 13:00
        hour += 12
    elif hour == 12 and period and period != "中午":  # 晚上12点, 凌晨12点 are midnight
        hour = 0
    explicit = bool(period) or hour > 12 or hour == 0 or match["h"].startswith("0")
    return [Fact("time", Clock(hour % 24, minute, explicit))]


_ZH_FRACTION = re.compile(rf"(?P<a>\d{{1,30}}|[{_CN}]+)分之(?P<b>{_DIGITS}|[{_CN}]+)")
_ZH_BARE_POWERS = {"百": 100, "千": 1000, "万": 10_000}


def _read_zh_fraction(match: re.Match[str]) -> list[Fact] | None:
    denominator = _ZH_BARE_POWERS.get(match["a"]) or _zh_int(match["a"])
    numerator = Fraction(match["b"]) if match["b"].isascii() else _zh_int(match["b"])
    if not denominator or numerator is None:
        return None
    if denominator in (100, 1000):  # 百分之五 = 5%, 千分之三 = 0.3%
        return [_number(Fraction(numerator) * 100 / denominator, "%")]
    return [_number(Fraction(numerator, denominator))]


_ZH_HALF = re.compile(rf"(?<![{_CN}\d个])半个?(?P<u>小时|钟头|天|年|月|分钟|公斤|斤)")


def _read_zh_half(match: re.Match[str]) -> list[Fact] | None:
    if match["u"] == "月" and "个" not in match.group():
        return None  # 半月 is "semi-monthly" or "half-moon"
    return [_number(Fraction(1, 2), _ZH_UNITS[match["u"]], weak=True)]  # 半天 is also "a long while"


_ZH_UNITS = {
    "毫克": "mg", "微克": "μg", "千克": "kg", "公斤": "kg", "克": "g", "斤": "jin", "吨": "t", "磅": "lb",
    "毫米汞柱": "mmHg", "毫米": "mm", "厘米": "cm", "公分": "cm", "千米": "km", "公里": "km", "米": "m",
    "英里": "mile", "英寸": "inch", "英尺": "foot", "毫升": "ml", "升": "l",
    "摄氏度": "°C", "℃": "°C", "°C": "°C", "华氏度": "°F", "℉": "°F", "度": "degree", "°": "degree",
    "个百分点": "pp", "百分点": "pp", "%": "%", "％": "%", "千瓦时": "kWh",
    "秒钟": "s", "秒": "s", "分钟": "min", "小时": "h", "钟头": "h", "天": "day", "日": "day",
    "星期": "week", "礼拜": "week", "周": "week", "月": "month", "周岁": "year", "岁": "year", "年": "year",
    "元": "CNY", "块钱": "CNY", "块": "CNY", "人民币": "CNY", "美元": "USD", "美金": "USD", "港元": "HKD",
    "港币": "HKD", "欧元": "EUR", "英镑": "GBP", "日元": "JPY", "韩元": "KRW", "澳元": "AUD", "加元": "CAD",
    "新台币": "TWD",
    "mg": "mg", "μg": "μg", "mcg": "μg", "kg": "kg", "g": "g", "mmHg": "mmHg", "mm": "mm", "cm": "cm",
    "km": "km", "m": "m", "ml": "ml", "mL": "ml", "L": "l", "h": "h", "min": "min",
}  # fmt: skip
_ZH_CURRENCY_PREFIX = {"US$": "USD", "HK$": "HKD", "$": "dollar", "¥": "¥", "￥": "¥", "€": "EUR", "£": "GBP",
                       "RMB": "CNY", "CNY": "CNY", "USD": "USD", "人民币": "CNY"}  # fmt: skip
_ZH_SCALES = {"万亿": 10**12, "千万": 10**7, "百万": 10**6, "万": 10**4, "亿": 10**8, "千": 1000}
# Count words that show a lone numeral is a quantity (两个, 七次, 三名): 一审, 三心二意 have none.
_ZH_CLASSIFIERS = frozenset(
    "个名位人口次回遍趟顿片粒颗丸支瓶盒袋包张件条本辆架艘家所层楼号项份起例种类台部间套对双道批根只匹股笔剂针滴勺杯碗"
    "页章节款级等届期轮场局倍组户栋座处门"
)
# 成 after a number is a tenth (三成 = 30%) unless it starts a word: 成为, 成本, 八成是 ("probably").
_CHENG_WORDS = "为了功立本员绩熟年人就果交分都长型效品是会要在又也已不没得"


def _alternation(surfaces: list[str]) -> str:
    return "|".join(re.escape(s) for s in sorted(surfaces, key=len, reverse=True))


_ZH_NUMBER = re.compile(
    rf"(?P<pre>第|零下|负|(?<!\d)-|{_alternation(list(_ZH_CURRENCY_PREFIX))})?\s?"
    rf"(?P<num>(?:(?<=RMB|CNY|USD)|(?<![A-Za-z0-9.])){_DIGITS}"
    rf"|[{_CN}]+)"
    rf"(?P<scale>{_alternation(list(_ZH_SCALES))})?(?P<approx>[余多])?(?P<ge>个)?(?P<half>半)?"
    rf"(?:(?P<unit>\s?(?:{_alternation(list(_ZH_UNITS))})(?![A-Za-z]))|(?P<cheng>成(?![{_CHENG_WORDS}])))?"
    rf"(?P<half2>半)?(?P<count>[{''.join(sorted(_ZH_CLASSIFIERS))}])?"
)


def _is_idiom(text: str, start: int, end: int) -> bool:
    """Whether a dictionary word of four or more characters contains text[start:end] (三天两头, 三年五载)."""
    words = load_jieba().dt.FREQ
    return any(
        words.get(text[first:last], 0) > 0
        for first in range(max(0, start - 3), start + 1)
        for last in range(end, min(len(text), end + 3) + 1)
        if last - first >= 4 and last - first > end - start
    )


def _read_zh_number(match: re.Match[str]) -> list[Fact] | None:
    pre, num, text = match["pre"] or "", match["num"], match.string
    unit = _ZH_UNITS[match["unit"].strip()] if match["unit"] else _ZH_CURRENCY_PREFIX.get(pre.strip())
    if num.isascii():
        values = [Fraction(num.replace(",", "")) * _ZH_SCALES.get(match["scale"] or "", 1)]
    else:
        # Numerals the ITN left: a quantity only with 第, a count word or a unit after it (两个, 七天, 第三).
        before = text[match.start("num") - 1 : match.start("num")]
        evidence = pre or match["ge"] or match["unit"] or match["cheng"] or match["half2"] or match["count"]
        if not evidence or before in ("几", "数") or text.startswith("几", match.end("num")):
            return None
        if _is_idiom(text, match.start("num"), match.end()):
            return None
        value = _zh_int(num)
        if value is None and match["approx"]:
            value = _ZH_BARE_POWERS.get(num)  # 百余人 "over a hundred"
        low, high = (_zh_int(num[0]), _zh_int(num[1])) if len(num) == 2 else (None, None)
        if value is not None:
            values = [Fraction(value)]
        elif low is not None and high == low + 1:
            values = [Fraction(low), Fraction(high)]  # 五六个 "five or six"
        else:
            return None
    if match["half"] or match["half2"]:
        values = [v + Fraction(1, 2) for v in values]
    if match["cheng"]:
        values, unit = [v * 10 for v in values], "%"
    if pre in ("零下", "负", "-"):
        values = [-v for v in values]
    return [_number(v, unit) for v in values]


_ITN_PIECES = re.compile(r"[^。！？；，、：!?;\n]+|[。！？；，、：!?;\n]+")  # the ITN converts piece by piece


def _normalize_zh(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The ITN of ``text`` and, for each of its characters, the span of ``text`` it was written from."""
    written_parts: list[str] = []
    origin: list[tuple[int, int]] = []
    for clause in _ITN_PIECES.finditer(text):
        raw, base = clause.group(), clause.start()
        written = inverse_normalize(raw)
        written_parts.append(written)
        if written == raw:
            origin += [(base + i, base + i + 1) for i in range(len(raw))]
            continue
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, raw, written, autojunk=False).get_opcodes():
            if op == "equal":
                origin += [(base + i, base + i + 1) for i in range(i1, i2)]
            else:
                origin += [(base + i1, base + i2)] * (j2 - j1)  # 23 ← 二十三 as a whole
    return "".join(written_parts), origin


def _extract_zh(text: str) -> list[Fact]:
    normalized, origin = _normalize_zh(text)
    scanner = _Scanner(normalized, lambda start, end: text[origin[start][0] : origin[end - 1][1]])
    _read_drugs(scanner)
    scanner.scan(_WORD, _read_code)
    scanner.scan(_ISO_DATE, _read_iso_date)
    scanner.scan(_ZH_DATE, _read_zh_date)
    scanner.scan(_ZH_WEEKDAY, _read_zh_weekday)
    scanner.scan(_ZH_TIME, _read_zh_time)
    scanner.scan(_SLASH_FRACTION, _read_slash_fraction)
    scanner.scan(_ZH_FRACTION, _read_zh_fraction)
    scanner.scan(_ZH_HALF, _read_zh_half)
    scanner.scan(_ZH_NUMBER, _read_zh_number)
    scanner.scan(_WORD, _read_latin_word)
    return scanner.facts


# --------------------------------------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------------------------------------

_EN_UNITS = (
    (r"(?i:percentage\s+points?)", "pp"),
    (r"%|(?i:per\s?cent)", "%"),
    (r"(?i:mmhg)", "mmHg"),
    (r"mg|(?i:milligram(?:me)?s?)", "mg"),
    (r"mcg|[μµ]g|(?i:microgram(?:me)?s?)", "μg"),
    (r"kgs?|(?i:kilo(?:gram(?:me)?)?s?)", "kg"),
    (r"g|(?i:gram(?:me)?s?)", "g"),
    (r"(?i:tonnes?|tons?)", "t"),
    (r"lbs?", "lb"),
    (r"(?i:pounds?\s+sterling|british\s+pounds?)", "GBP"),
    (r"(?i:pounds?)", "pound"),
    (r"(?i:jin)", "jin"),
    (r"mm|(?i:millimet(?:er|re)s?)", "mm"),
    (r"cm|(?i:centimet(?:er|re)s?)", "cm"),
    (r"km|(?i:kilomet(?:er|re)s?)", "km"),
    (r"m|(?i:met(?:er|re)s?)", "m"),
    (r"(?i:miles?)", "mile"),
    (r"(?i:inch(?:es)?)", "inch"),
    (r"ft|(?i:feet|foot)", "foot"),
    (r"ml|mL|(?i:millilit(?:er|re)s?)", "ml"),
    (r"[lL]|(?i:lit(?:er|re)s?)", "l"),
    (r"°\s?C|℃|(?i:degrees?\s+(?:celsius|centigrade))", "°C"),
    (r"°\s?F|℉|(?i:degrees?\s+fahrenheit)", "°F"),
    (r"°|(?i:degrees?)", "degree"),
    (r"kWh|(?i:kilowatt[-\s]hours?)", "kWh"),
    (r"(?i:seconds?|secs?)", "s"),
    (r"(?i:minutes?|mins?)", "min"),
    (r"h|(?i:hours?|hrs?)", "h"),
    (r"(?i:days?)", "day"),
    (r"(?i:weeks?)", "week"),
    (r"(?i:months?)", "month"),
    (r"(?i:year-old|years?(?:\s+old)?)", "year"),
    (r"(?i:yuan|renminbi)|RMB|CNY", "CNY"),
    (r"(?i:(?:us|american)\s+dollars?)|USD", "USD"),
    (r"(?i:(?:hong\s+kong|hk)\s+dollars?)|HKD", "HKD"),
    (r"(?i:dollars?)", "dollar"),
    (r"(?i:euros?)|EUR", "EUR"),
    (r"GBP", "GBP"),
    (r"(?i:yen)|JPY", "JPY"),
)
_EN_UNIT_PATTERNS = tuple((re.compile(pattern), unit) for pattern, unit in _EN_UNITS)
_EN_CURRENCY_PREFIX = {"US$": "USD", "HK$": "HKD", "$": "dollar", "€": "EUR", "£": "GBP", "¥": "¥", "￥": "¥",
                       "RMB": "CNY", "CNY": "CNY", "USD": "USD", "EUR": "EUR", "GBP": "GBP", "HKD": "HKD",
                       "JPY": "JPY"}  # fmt: skip
_EN_NUMBER = re.compile(
    rf"(?P<neg>\b(?i:minus)\s+|(?<![\w.])-(?=\d))?(?P<cur>{_alternation(list(_EN_CURRENCY_PREFIX))})?\s?"
    rf"(?:(?P<digits>(?:(?<=RMB|CNY|USD|EUR|GBP|HKD|JPY)|(?<![A-Za-z0-9_.]))"
    rf"{_DIGITS})"
    rf"(?P<ordinal>st|nd|rd|th)?(?P<scale>\s*(?i:hundred|thousand|million|billion|trillion)\b|(?:k|bn)\b)?"
    rf"|(?P<words>(?i:{EN_NUMBER_WORD_RUN})))"
    rf"(?P<half>\s+(?i:and\s+a\s+half)\b)?"
    rf"(?P<unit>\s*-?\s*(?:{'|'.join(pattern for pattern, _ in _EN_UNITS)})(?![A-Za-z]))?"
    rf"(?P<below>\s+(?i:below\s+zero)\b)?(?![A-Za-z0-9])"
)
_EN_DIGIT_SCALES = {**EN_SCALE_WORDS, "k": 1000, "bn": 10**9}


def _en_unit(text: str) -> str:
    surface = text.strip(" -")
    return next(unit for pattern, unit in _EN_UNIT_PATTERNS if pattern.fullmatch(surface))


def _read_en_number(match: re.Match[str]) -> list[Fact] | None:
    if match["digits"]:
        scale = _EN_DIGIT_SCALES[match["scale"].strip().lower()] if match["scale"] else 1
        numbers = [WordNumber(Fraction(match["digits"].replace(",", "")) * scale, False)]
    else:
        numbers = read_en_numbers(re.split(r"[\s-]+", match["words"].lower()))
        if not numbers:
            return None
    if match["half"]:
        numbers[-1] = numbers[-1]._replace(value=numbers[-1].value + Fraction(1, 2))
    sign = -1 if match["neg"] or match["below"] else 1
    unit = _en_unit(match["unit"]) if match["unit"] else _EN_CURRENCY_PREFIX.get(match["cur"] or "")
    last = len(numbers) - 1  # "five or six days": the unit goes with the last number
    return [_number(sign * n.value, unit if i == last else None, n.weak) for i, n in enumerate(numbers)]


_EN_HALF_UNIT = re.compile(r"(?i:\bhalf\s+an?\s+(?P<u>hour|day|week|month|year|kilo(?:gram)?|lit(?:er|re)|mile)\b)")
_EN_UNIT_AND_A_HALF = re.compile(r"(?i:\ban?\s+(?P<u>hour|day|week|month|year)\s+and\s+a\s+half\b)")


# "for a week" is seven days, "an hour" 60 minutes: weak ones, to match what the other side wrote in numbers
_EN_A_UNIT = re.compile(r"(?i:\ban?\s+(?P<u>minute|hour|day|week|month|year)\b)")


def _read_en_a_unit(match: re.Match[str]) -> list[Fact]:
    return [_number(Fraction(1), _en_unit(match["u"]))]


def _read_en_half_unit(match: re.Match[str]) -> list[Fact]:
    return [_number(Fraction(1, 2), _en_unit(match["u"]), weak=True)]


def _read_en_unit_and_a_half(match: re.Match[str]) -> list[Fact]:
    return [_number(Fraction(3, 2), _en_unit(match["u"]))]


_MONTHS = {name: i for i, month in enumerate(EN_MONTHS, 1) for name in (month, month[:3])} | {"Sept": 9}
_MONTH = rf"(?P<mon>{_alternation(list(_MONTHS))})(?![a-z])\.?"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\d:])"
_YEAR = r"(?:,?\s+(?P<y>\d{4})(?!\d))"
_EN_DATES = (
    re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}{_YEAR}?"),  # March 5, 2023 · March 5th
    re.compile(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}?"),  # 5 March 2023 · the 5th of March
    re.compile(rf"\b{_MONTH}{_YEAR}"),  # March 2023
    # a month alone only after a word that makes it one ("in May", not "May I")
    re.compile(
        rf"\b(?:in|since|until|till|by|of|from|before|after|during|through|to|early|late|mid|last|next|this|"
        rf"each|every)\s+(?:early\s+|late\s+|mid-)?{_MONTH}"
    ),
)
_US_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")


def _read_en_date(match: re.Match[str]) -> list[Fact] | None:
    groups = match.groupdict()
    day = int(groups["d"]) if groups.get("d") else None
    return _date(int(groups["y"]) if groups.get("y") else None, _MONTHS[match["mon"]], day)


def _read_us_date(match: re.Match[str]) -> list[Fact] | None:
    first, second = int(match[1]), int(match[2])
    month, day = (second, first) if first > 12 else (first, second)  # month first, as US English writes it
    return _date(int(match[3]), month, day)


_EN_WEEKDAY = re.compile(rf"\b(?P<w>{'|'.join(WEEKDAYS)})s?\b")


def _read_en_weekday(match: re.Match[str]) -> list[Fact]:
    return [Fact("weekday", WEEKDAYS.index(match["w"]))]


_HOUR_WORDS = {en_cardinal(n): n for n in range(1, 13)}
_HOUR = rf"(?P<h>\d{{1,2}}|{_alternation(list(_HOUR_WORDS))})"
_PERIOD = r"(?:\s+(?:in\s+the\s+(?P<pp>morning|afternoon|evening)|at\s+(?P<pn>night)|(?P<pt>tonight)))"
_EN_TIMES = (
    re.compile(r"(?i:(?<![\d:.])(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ap>[ap])\.?\s?m\b\.?)"),  # 3 pm, 3:15 a.m.
    re.compile(rf"(?i:(?<![\d:.])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?::\d{{2}})?(?!\d)(?:\s*o['’]clock)?{_PERIOD}?)"),
    re.compile(rf"(?i:\b{_HOUR}\s+o['’]clock{_PERIOD}?)"),  # three o'clock
    re.compile(rf"(?i:\b(?P<part>half|(?:a\s+)?quarter)\s+(?P<rel>past|to)\s+{_HOUR}{_PERIOD}?)"),  # half past three
    re.compile(rf"(?i:\b{_HOUR}{_PERIOD})"),  # 3 in the afternoon
    re.compile(r"(?i:\b(?P<noon>noon|midday|midnight)\b)"),
)


def _read_en_time(match: re.Match[str]) -> list[Fact] | None:
    groups = match.groupdict()
    if groups.get("noon"):  # "noon" is as often a time of day (中午) as 12:00: weak
        return [Fact("time", Clock(0 if groups["noon"].lower() == "midnight" else 12, 0, True), weak=True)]
    hour = _HOUR_WORDS.get(groups["h"].lower()) or int(groups["h"])
    minute = int(groups.get("m") or 0)
    if groups.get("part"):
        minute = 30 if groups["part"].lower() == "half" else 15
        if groups["rel"].lower() == "to":  # a quarter to ten is 9:45
            hour, minute = (hour - 1) % 12 or 12, 60 - minute
    if hour > 24 or minute > 59:
        return None
    pm = (groups.get("ap") or "").lower() == "p" or (groups.get("pp") or "").lower() in ("afternoon", "evening")
    night = bool(groups.get("pn") or groups.get("pt"))
    period = bool(groups.get("ap") or groups.get("pp") or night)
    if (pm or (night and hour >= 6)) and hour < 12:
        hour += 12
    elif hour == 12 and ((groups.get("ap") or "").lower() == "a" or night):
        hour = 0
    explicit = period or hour > 12 or hour == 0 or groups["h"].startswith("0")
    return [Fact("time", Clock(hour % 24, minute, explicit))]


# "one in five", "3 out of 10": a proportion, which Chinese writes as a fraction (五分之一).
_EN_PROPORTION = re.compile(r"(?i:\b(?P<a>one|a|\d{1,6})\s+(?:in|out\s+of)\s+(?P<b>[a-z]+|\d{1,6})\b)")


def _read_en_proportion(match: re.Match[str]) -> list[Fact] | None:
    numerator = parse_en_number("one" if match["a"].lower() == "a" else match["a"])
    denominator = parse_en_number(match["b"])
    if numerator is None or not denominator or not 0 < numerator < denominator:
        return None
    return [_number(numerator / denominator)]


def _extract_en(text: str) -> list[Fact]:
    scanner = _Scanner(text, lambda start, end: text[start:end])
    _read_drugs(scanner)
    scanner.scan(_WORD, _read_code)
    scanner.scan(_ISO_DATE, _read_iso_date)
    scanner.scan(_US_DATE, _read_us_date)
    for pattern in _EN_DATES:
        scanner.scan(pattern, _read_en_date)
    scanner.scan(_EN_WEEKDAY, _read_en_weekday)
    for pattern in _EN_TIMES:
        scanner.scan(pattern, _read_en_time)
    scanner.scan(_SLASH_FRACTION, _read_slash_fraction)
    scanner.scan(_EN_PROPORTION, _read_en_proportion)
    scanner.scan(_EN_HALF_UNIT, _read_en_half_unit)
    scanner.scan(_EN_UNIT_AND_A_HALF, _read_en_unit_and_a_half)
    scanner.scan(_EN_A_UNIT, _read_en_a_unit)
    scanner.scan(_EN_NUMBER, _read_en_number)
    return scanner.facts


def extract_facts(text: str, language: str) -> list[Fact]:
    """The facts of ``text`` in order of appearance; ``language`` is ``"zh"`` or ``"en"``."""
    if language not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', not {language!r}")
    facts = _extract_zh(text) if language == "zh" else _extract_en(text)
    return sorted(facts, key=lambda fact: fact.position)


__all__ = [
    "WEEKDAYS",
    "Clock",
    "Date",
    "Fact",
    "extract_facts",
    "format_number",
    "same_quantity",
]
