"""The TTS text front-end: plain text or SSML in, short spoken-form pieces out, and Kokoro phonemes per piece.

    plan_speech("今天是2023年3月5日，下午3:15开会，电话13812345678。")
    → [TextPiece("今天是二零二三年三月五日，", "zh", pause_after_ms=100),
       TextPiece("下午三点十五分开会，电话幺三八 幺二三四 五六七八。", "zh", pause_after_ms=250)]

Pipeline (:func:`plan_speech`):

1. SSML (a document starting with ``<speak``) becomes text runs with a rate, ``<say-as>`` readings and
   pauses (:mod:`shenggu.tts.ssml`); plain text is one run, whose newlines end sentences.
2. Sentences end at 。！？；!?; and newlines, and at ``.`` unless it follows a title (Dr. Smith), an initial
   (J. Smith) or comes before a lowercase word or a digit. Each sentence is read as Mandarin when it has a
   Chinese character, as English when it has Latin letters but no Chinese, and in the document's language
   otherwise (a bare phone number).
3. Clauses end at ，、：and at ``,`` ``:`` followed by a space, the end or Chinese (1,000, 3:15 and https://
   stay whole). Every cut point comes from the *written* text, so no number, time or phone number is ever
   split, and commas the normalizer inserts (``five five five, one two three``) are never cut at.
4. Each clause is normalized (TN, written → spoken) by wetext's WFSTs behind small regex pre-passes for what
   wetext gets wrong (see the quirks below); if wetext fails on a clause it is retried word by word, and any
   digit still left is read digit by digit.
5. Clauses are packed into pieces of at most ``max_chars`` spoken characters (default 40 for Mandarin, 200 for
   English). When the first sentence is longer than half the limit, the first piece is its first clause alone,
   so the first audio comes fast.
   A clause longer than the limit is cut at a word boundary (jieba's for Mandarin, a space for English) that
   is not inside a number or a Latin word. Pauses: 250 ms after a sentence, 500 ms after a paragraph (blank
   line, ``</p>``), 100 ms after a clause cut, none where no punctuation ends the text or a rate change cuts a
   sentence; a ``<break>`` replaces them.

wetext quirks worked around (wetext 0.1.8). Mandarin: landline and hotline numbers are read with 一 and
without grouping (010-12345678 → 零一零一二…), so phone numbers are read here (幺, grouped); thousands
separators break numbers (1,234 → 一,两百三十四); ``10%-20%`` → 百分之十百分之负二十 and ``10-20%`` →
十月二日百分之零; a hyphen after Latin letters is a minus sign (GPT-4 → GPT负四); ``12:00:30`` drops its
zero minutes (十二点三十秒); ``7×24`` reads 24 digit by digit; ``20.00元`` → 二十点零零元; quotes come back
backslash-escaped. English: 1000–1999 lose their "one" (1,234 → "thousand two hundred…", -1500 →
"negative thousand…"); every 4-digit number is read as a year (1234 → "twelve thirty four", 1001 → "ten
zero one"); ``$5.20`` → "five point two dollars"; ``1990s`` → "…ninety seconds"; ``No. 5`` →
"Number. five"; "Elm Dr." → "Elm doctor"; ``May 4`` → "May four"; 7-digit phone numbers become cardinals;
``+1 555 123 4567``, ``#1``, ``&5`` and any non-ASCII letter or sign (é, Ж, ×, ℃, ½) crash the tagger, so only
the runs it can read go through it; ``~5`` → "approximatelyfive". A bare 4-digit number is read as a year here
only in a year context (after "in", "since", a month…, or at the end of a clause).

Phonemes (:func:`kokoro_phonemes`): Mandarin through misaki's ``ZHG2P()`` (its default, legacy version: jieba
words → pypinyin → IPA with tone arrows, the phoneme set Kokoro v1.0 was trained on; its ``en_callable`` hook
only exists in version 1.1, whose bopomofo output does not match this vocabulary, and the legacy version
copies Latin letters through as they are). Latin runs are therefore cut out here and phonemized with espeak-ng
(piper's bundled build, en-us), mapped to misaki's English phoneme conventions (``eɪ`` → ``A``, ``oʊ`` →
``O``, flap ``ɾ`` → ``T``…) the way misaki's own espeak fallback does; acronyms in capitals (CEO, AI) are
spelled with misaki's letter names. Characters outside Kokoro's vocabulary are dropped.

Everything heavy (wetext's FSTs, jieba's dictionary, misaki, espeak) loads lazily, once per process,
thread-safe. A normalizer failure never reaches the caller (a warning is logged on ``shenggu.tts.frontend``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType

from shenggu.errors import InvalidOptionError
from shenggu.lazy import once
from shenggu.tts import ssml

logger = logging.getLogger("shenggu.tts.frontend")

DEFAULT_MAX_CHARS = {"zh": 40, "en": 200}
MIN_MAX_CHARS = 8
SENTENCE_PAUSE_MS = 250
PARAGRAPH_PAUSE_MS = 500
CLAUSE_PAUSE_MS = 100


@dataclass(frozen=True)
class TextPiece:
    """One unit of synthesis, in spoken form.

    ``text`` is empty only for a ``<break>`` before any text: a piece of pure silence.
    """

    text: str  # normalized spoken text (numbers etc. already expanded)
    language: str  # "zh" or "en"
    rate: float = 1.0  # speed multiplier from <prosody rate>
    pause_after_ms: int = 0  # silence after this piece (sentence gaps, <break time>)


# --------------------------------------------------------------------------------------------------------
# Characters
# --------------------------------------------------------------------------------------------------------

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_CHAR = re.compile(f"[{_HAN}]")
_HAN_RUN = re.compile(f"[{_HAN}]+")
# Han characters plus CJK and full-width punctuation: no space is needed next to these when joining text.
_CJK_TEXT = re.compile(f"[{_HAN}\u3000-\u303f\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")
_SPEAKABLE = re.compile(r"[^\W_]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2060\ufeff]")
_CLOSERS = "”’」』）)》】\"'"
_FULL_WIDTH = str.maketrans("０１２３４５６７８９％＋", "0123456789%+")
_FULL_WIDTH_BETWEEN_DIGITS = re.compile(r"(?<=\d)[．：／－](?=\d)")
_HALF_WIDTH_OF = {"．": ".", "：": ":", "／": "/", "－": "-"}


def _has_han(text: str) -> bool:
    return _HAN_CHAR.search(text) is not None


def _join(left: str, right: str) -> str:
    """Concatenate spoken text: a space between two Latin/English sides, none next to Chinese."""
    if not left or not right:
        return left + right
    if _CJK_TEXT.match(left[-1]) or _CJK_TEXT.match(right[0]) or left[-1].isspace() or right[0].isspace():
        return left + right
    return f"{left} {right}"


# --------------------------------------------------------------------------------------------------------
# Number words
# --------------------------------------------------------------------------------------------------------

_ZH_DIGITS = "零一二三四五六七八九"
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
_EN_NUMBER_WORDS = frozenset(
    [*_EN_SMALL, *_EN_TENS[2:], "hundred", "thousand", "million", "billion", "trillion", "point", "and", "oh"]
)
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip


def _zh_digits(digits: str, yao: bool = False) -> str:
    """Digit-by-digit Mandarin reading; ``yao`` reads 1 as 幺, as in phone numbers."""
    return "".join(("幺" if yao and d == "1" else _ZH_DIGITS[int(d)]) for d in digits if d.isdigit())


def _zh_below_100(n: int) -> str:
    """0–99 in Mandarin (months and days): 十, 十五, 二十, 三十一."""
    tens, ones = divmod(n, 10)
    if n < 10:
        return _ZH_DIGITS[n]
    head = "" if tens == 1 else _ZH_DIGITS[tens]
    return f"{head}十{_ZH_DIGITS[ones] if ones else ''}"


def _en_digits(digits: str) -> str:
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


def _en_cardinal(n: int) -> str:
    """An integer in English words, "and" in the last hundreds as wetext says it: 1234 → one thousand two hundred
    and thirty four."""
    if n < 0:
        return f"minus {_en_cardinal(-n)}"
    if n == 0:
        return "zero"
    if n >= 10**15:
        return _en_digits(str(n))  # an identifier more likely than a quantity
    words: list[str] = []
    for value, name in _EN_SCALES:
        if n >= value:
            words += [*_en_below_1000(n // value), name]
            n %= value
    return " ".join(words + _en_below_1000(n, with_and=True))


def _en_decimal(integer: str, fraction: str) -> str:
    whole = _en_cardinal(int(integer.replace(",", "") or "0"))
    return f"{whole} point {_en_digits(fraction)}" if fraction else whole


def _en_ordinal(n: int) -> str:
    words = _en_cardinal(n).split()
    last = words[-1]
    words[-1] = _EN_IRREGULAR_ORDINALS.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return " ".join(words)


def _en_year(year: int) -> str:
    """Years as they are said: 1998 → nineteen ninety eight, 2005 → two thousand five, 1900 → nineteen hundred."""
    if year < 1000 or 2000 <= year <= 2009 or year % 1000 == 0:
        return _en_cardinal(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{_en_cardinal(high)} hundred"
    if low < 10:
        return f"{_en_cardinal(high)} oh {_EN_SMALL[low]}"
    return f"{_en_cardinal(high)} {_en_cardinal(low)}"


def _plural_word(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


# --------------------------------------------------------------------------------------------------------
# Mandarin pre-pass: what wetext reads wrongly or not at all
# --------------------------------------------------------------------------------------------------------

_ZH_PHONE = re.compile(
    r"(?<![\d.])(?:(?P<cc>\+86)[\s-]?)?(?:"
    r"(?P<mobile>1[3-9]\d[\s-]?\d{4}[\s-]?\d{4})"
    r"|(?P<landline>\(0\d{2,3}\)\s?\d{7,8}|0[1-9]\d{1,2}-\d{7,8}|0[1-9]\d{1,2}\s?[2-9]\d{6,7})"
    r"|(?P<hotline>[48]00[\s-]?\d{3}[\s-]?\d{4})"
    r")(?![\d.])"
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ZH_BELOW_ZERO = re.compile(r"(?<![\d.])-(?=\d+(?:\.\d+)?\s*(?:℃|°C|度))")
_ZH_PERCENT_RANGE = re.compile(r"(\d+(?:\.\d+)?)%?\s*[-~～—–至到]\s*(\d+(?:\.\d+)?%)")
_LATIN_HYPHEN_DIGIT = re.compile(r"(?<=[A-Za-z])-(?=\d)")
_ZERO_MINUTES = re.compile(r"(?<![\d:])(\d{1,2}):00:(\d{2})(?![\d:])")
_ZH_MONEY = re.compile(
    r"(?P<pre>[¥￥$€£]\s?)?(?P<int>\d+)\.(?P<frac>\d+)(?P<post>元|块|美元|欧元|英镑|日元|港元|港币)?"
)
_TIMES_SIGN = re.compile(r"(?<=\d)\s*[×xX*]\s*(?=\d)")
_NUMBER_SIGN = re.compile(r"\bNo\.\s?(?=\d)")


def _zh_phone(match: re.Match[str]) -> str:
    """A phone number read digit by digit with 幺 for 1, in its groups: 幺三八 幺二三四 五六七八."""
    number = next(match.group(k) for k in ("mobile", "landline", "hotline") if match.group(k))
    groups = re.findall(r"\d+", number)
    if len(groups) == 1:
        digits = groups[0]
        if match.group("mobile"):
            groups = [digits[:3], digits[3:7], digits[7:]]
        elif match.group("landline"):
            area = 3 if digits[1] in "12" else 4  # 010, 021…: three-digit area codes
            groups = [digits[:area], digits[area:]]
        else:
            groups = [digits[:3], digits[3:6], digits[6:]]
    spoken = " ".join(_zh_digits(g, yao=True) for g in groups)
    return f"加八六 {spoken}" if match.group("cc") else spoken


def _zh_money(match: re.Match[str]) -> str:
    """Trailing zeros of an amount are not read: 20.00元 → 20元, ¥5.20 → ¥5.2 (五点二元, not 五点二零元)."""
    if not match.group("pre") and not match.group("post"):
        return match.group(0)
    fraction = match.group("frac").rstrip("0")
    number = f"{match.group('int')}.{fraction}" if fraction else match.group("int")
    return f"{match.group('pre') or ''}{number}{match.group('post') or ''}"


def _zh_prepass(text: str) -> str:
    text = _ZH_PHONE.sub(_zh_phone, text)
    text = _THOUSANDS.sub("", text)
    text = _ZH_BELOW_ZERO.sub("零下", text)
    text = _ZH_PERCENT_RANGE.sub(r"\1%到\2", text)
    text = _LATIN_HYPHEN_DIGIT.sub(" ", text)
    text = _ZERO_MINUTES.sub(r"\1点零分\2秒", text)
    text = _ZH_MONEY.sub(_zh_money, text)
    text = _TIMES_SIGN.sub("乘", text)
    return _NUMBER_SIGN.sub("第", text)


# --------------------------------------------------------------------------------------------------------
# English pre-pass
# --------------------------------------------------------------------------------------------------------

# Titles are expanded only before a capitalized word (Dr. Smith); elsewhere the other table applies (Elm Dr.).
_EN_TITLES = {
    "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Dr": "Doctor", "Prof": "Professor", "St": "Saint",
    "Mt": "Mount", "Gen": "General", "Capt": "Captain", "Lt": "Lieutenant", "Sgt": "Sergeant",
    "Rev": "Reverend", "Gov": "Governor", "Sen": "Senator", "Rep": "Representative",
}  # fmt: skip
_EN_ABBREVIATIONS = {
    "St": "Street", "Dr": "Drive", "Jr": "Junior", "Sr": "Senior", "Ave": "Avenue", "Blvd": "Boulevard",
    "Rd": "Road", "Inc": "Incorporated", "Ltd": "Limited", "Corp": "Corporation", "vs": "versus",
    "etc": "et cetera", "approx": "approximately", "dept": "department", "Mr": "Mister", "Mrs": "Missus",
    "Ms": "Miz", "Prof": "Professor",
}  # fmt: skip
_EN_TITLE = re.compile(rf"\b({'|'.join(_EN_TITLES)})\.(?=\s+[A-Z])")
_EN_ABBREVIATION = re.compile(rf"\b({'|'.join(_EN_ABBREVIATIONS)})\.(?P<end>(?=\s*$|\s+[A-Z]))?")
_EN_LATIN_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e)\.,?")
_EN_INITIALS = re.compile(r"\b((?:[A-Z]\.){2,})(?P<end>(?=\s*$|\s+[A-Z]))?")
_EN_NUMBER_SIGN = re.compile(r"(?:\bNo\.|#)\s?(?=\d)")
_EN_MONEY = re.compile(
    r"(?P<sign>-)?(?P<cur>[$€£¥])\s?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion)\b|(?P<abbr>bn|[kKMB])\b)?"
)
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "", ""),
}
_SCALE_ABBREVIATIONS = {"k": "thousand", "K": "thousand", "M": "million", "B": "billion", "bn": "billion"}
_EN_PHONE = re.compile(
    r"(?<![\w+])(?:(?P<cc>\+\d{1,3})[\s.-]?)?(?:\((?P<area1>\d{3})\)\s?|(?P<area2>\d{3})[\s.-])"
    r"(?P<exchange>\d{3})[\s.-](?P<line>\d{4})(?![\w-])"
    r"|(?<![\w.,+-])(?P<short>\d{3}-\d{4})(?![\w-])"
)
_EN_MONTH = "|".join(f"{m[:3]}(?:{m[3:]})?" if len(m) > 3 else m for m in _EN_MONTHS)
_EN_MONTH_DAY = re.compile(rf"\b(?P<month>{_EN_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:.,]\d|\w)")
_EN_DECADE = re.compile(r"(?<![\w'])(?P<apostrophe>')?(?P<number>\d{2}|\d{4})s\b")
_EN_DECADE_CUES = {"the", "early", "mid", "late", "his", "her", "their", "my", "our", "your"}
_EN_GROUPED = re.compile(r"(?<![\w.,])(?P<sign>-)?(?P<int>\d{1,3}(?:,\d{3})+)(?:\.(?P<frac>\d+))?(?!\d|[.,]\d)")
_EN_FOUR_DIGITS = re.compile(r"(?<![\w.,:/$£€¥#+])(?P<sign>-)?(?P<int>\d{4})(?:\.(?P<frac>\d+))?(?![\w%°]|[.,:/-]\d)")
_EN_YEAR_CUES = {
    "in", "since", "year", "by", "from", "until", "till", "to", "through", "before", "after", "around", "circa",
    "of", "early", "late", "mid", "and", "spring", "summer", "fall", "autumn", "winter", "between", "during",
    *(m.lower() for m in _EN_MONTHS), *(m[:3].lower() for m in _EN_MONTHS),
}  # fmt: skip
_EN_YEAR_RANGE = re.compile(r"(?<![\w.,])(1[1-9]\d\d|20\d\d)\s*[-–]\s*(1[1-9]\d\d|20\d\d)(?![\w.,]\d|\w)")
# Symbols touching a number that crash the tagger (+1, &5, 5@) or come back glued (~5 → "approximatelyfive").
_EN_NUMBER_SYMBOLS = (
    (re.compile(r"(?<![\w)])\+(?=\d)"), "plus "),
    (re.compile(r"\s*&\s*(?=\d)|(?<=\d)\s*&\s*"), " and "),
    (re.compile(r"\s*@\s*(?=\d)|(?<=\d)\s*@\s*"), " at "),
    (re.compile(r"(?<=\d)\s*~\s*(?=\d)"), " to "),
    (re.compile(r"(?<![\w])~\s*(?=\d)"), "about "),
)
_EN_LONG_DIGITS = re.compile(r"(?<![\w.,])\d{10,}(?![\w]|[.,]\d)")
_EN_PERCENT_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*[-–~]\s*(?=\d+(?:\.\d+)?\s*%)")


def _en_abbreviation(match: re.Match[str]) -> str:
    # Keep the full stop where the abbreviation ends a sentence ("…and Co. Ltd. The next…").
    return _EN_ABBREVIATIONS[match.group(1)] + ("." if match.group("end") is not None else "")


def _en_initials(match: re.Match[str]) -> str:
    return match.group(1).replace(".", "") + ("." if match.group("end") is not None else "")


def _en_money(match: re.Match[str]) -> str:
    major, majors, minor, minors = _CURRENCIES[match.group("cur")]
    integer, fraction = match.group("int").replace(",", ""), match.group("frac") or ""
    sign = "minus " if match.group("sign") else ""
    scale = match.group("scale") or _SCALE_ABBREVIATIONS.get(match.group("abbr") or "")
    if scale:  # $3.5 million → three point five million dollars
        return f"{sign}{_en_decimal(integer, fraction)} {scale} {majors}"
    if fraction and len(fraction) <= 2 and minor:  # $5.20 → five dollars and twenty cents
        units, cents = int(integer), int(fraction.ljust(2, "0"))
        parts = []
        if units or not cents:
            parts.append(f"{_en_cardinal(units)} {major if units == 1 else majors}")
        if cents:
            parts.append(f"{_en_cardinal(cents)} {minor if cents == 1 else minors}")
        return sign + " and ".join(parts)
    if fraction:
        return f"{sign}{_en_decimal(integer, fraction)} {majors}"
    return f"{sign}{_en_cardinal(int(integer))} {major if int(integer) == 1 else majors}"


def _en_phone(match: re.Match[str]) -> str:
    """Digit groups read one by one, a comma (a short pause) between groups: five five five, one two three…"""
    if match.group("short"):
        groups = match.group("short").split("-")
    else:
        area = match.group("area1") or match.group("area2")
        groups = [area, match.group("exchange"), match.group("line")]
    spoken = ", ".join(_en_digits(g) for g in groups)
    country = match.group("cc")
    return f"plus {_en_digits(country)}, {spoken}" if country else spoken


def _en_month_day(match: re.Match[str]) -> str:
    month = next(m for m in _EN_MONTHS if m.lower().startswith(match.group("month").lower()[:3]))
    day = int(match.group("day"))
    return f"{month} {_en_ordinal(day)}" if 1 <= day <= 31 else match.group(0)


def _en_decade(match: re.Match[str]) -> str:
    """1990s → nineteen nineties; '80s and "the 80s" → eighties (a bare 30s may be seconds, so it stays)."""
    number = int(match.group("number"))
    if number % 10:
        return match.group(0)
    if len(match.group("number")) == 4:
        if not 1000 <= number <= 2090:
            return match.group(0)
        words = _en_year(number).split()
    else:
        before = match.string[: match.start()].split()
        if not match.group("apostrophe") and not (before and before[-1].lower() in _EN_DECADE_CUES):
            return match.group(0)
        if number < 10:
            return match.group(0)
        words = _en_cardinal(number).split()
    return " ".join([*words[:-1], _plural_word(words[-1])])


def _en_long_digits(match: re.Match[str]) -> str:
    """Ten digits or more without separators are an identifier or a phone number (13812345678), not a quantity."""
    digits = match.group(0)
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":  # a Chinese mobile number: 138 1234 5678
        return ", ".join(_en_digits(g) for g in (digits[:3], digits[3:7], digits[7:]))
    return _en_digits(digits)


def _en_grouped(match: re.Match[str]) -> str:
    sign = "minus " if match.group("sign") else ""
    return sign + _en_decimal(match.group("int"), match.group("frac") or "")


def _en_four_digits(match: re.Match[str]) -> str:
    """1000–9999: a year in a year context (in 1998, May 2023, at a clause's end), a cardinal otherwise."""
    sign = "minus " if match.group("sign") else ""
    integer, fraction = match.group("int"), match.group("frac")
    if fraction:
        return sign + _en_decimal(integer, fraction)
    value = int(integer)
    before = re.findall(r"[A-Za-z]+", match.string[: match.start()])
    after = match.string[match.end() :]
    year_context = (before and before[-1].lower() in _EN_YEAR_CUES) or re.match(r"\s*(?:$|[^\w\s]|AD\b|BC)", after)
    if not sign and 1100 <= value <= 2099 and year_context:
        return _en_year(value)
    return sign + _en_cardinal(value)


def _en_prepass(text: str) -> str:
    text = _TIMES_SIGN.sub(" times ", text).replace("℃", "°C")
    text = _EN_LATIN_ABBREVIATIONS.sub(lambda m: "for example" if m.group(1) == "e.g" else "that is", text)
    text = _EN_TITLE.sub(lambda m: _EN_TITLES[m.group(1)], text)
    text = _EN_ABBREVIATION.sub(_en_abbreviation, text)
    text = _EN_INITIALS.sub(_en_initials, text)
    text = _EN_NUMBER_SIGN.sub("number ", text)
    text = _EN_MONEY.sub(_en_money, text)
    text = _EN_PHONE.sub(_en_phone, text)
    text = _EN_MONTH_DAY.sub(_en_month_day, text)
    text = _EN_DECADE.sub(_en_decade, text)
    text = _EN_LONG_DIGITS.sub(_en_long_digits, text)
    text = _EN_YEAR_RANGE.sub(lambda m: f"{_en_year(int(m.group(1)))} to {_en_year(int(m.group(2)))}", text)
    text = _EN_GROUPED.sub(_en_grouped, text)
    text = _EN_FOUR_DIGITS.sub(_en_four_digits, text)
    text = _EN_PERCENT_RANGE.sub(r"\1 to ", text)
    for pattern, words in _EN_NUMBER_SYMBOLS:
        text = pattern.sub(words, text)
    return text.replace("24/7", "twenty four seven")


# --------------------------------------------------------------------------------------------------------
# wetext (TN) and the clause normalizer
# --------------------------------------------------------------------------------------------------------

_EN_NEEDS_TN = re.compile(r"[\d$£€¥%&@#°]")
# wetext's English tagger raises on any character outside these (é, ü, Ж, ×, ½, 你…): such runs are kept as they
# are and only the runs between them are normalized, so one accented word does not cost the clause its context.
_EN_UNREADABLE = re.compile(r"[^\x20-\x7e£€¥°“”‘’—–…]+")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_DIGIT_RUN = re.compile(r"\d+")


@once
def _wetext() -> Callable[[str, str], str] | None:
    """wetext's TN normalizers (its FSTs load at import, ~0.3 s); ``None``, logged, when they cannot load."""
    try:
        from wetext import Normalizer

        normalizers = {lang: Normalizer(lang=lang, operator="tn") for lang in ("zh", "en")}
    except Exception as error:  # TTS must still speak: leftover digits are then read one by one
        logger.warning("wetext unavailable, numbers are read digit by digit: %s", error, exc_info=True)
        return None
    lock = threading.Lock()  # kaldifst's C++ search is not documented as thread-safe

    def normalize(text: str, language: str) -> str:
        with lock:
            return normalizers[language].normalize(text)

    return normalize


def _wetext_normalize(text: str, language: str) -> str:
    """wetext's TN of one clause; the text as it was (logged) when wetext fails on it."""
    normalize = _wetext()
    if normalize is None:
        return text
    try:
        spoken = normalize(text, language)
    except Exception as error:  # the tagger asserts on some inputs (English "+1 555 123 4567", "#1")
        logger.warning("wetext failed on %r, read word by word: %s", text[:80], error)
        parts = []
        for word in text.split(" "):
            try:
                parts.append(normalize(word, language) if word else word)
            except Exception:
                parts.append(word)
        spoken = " ".join(parts)
    return _ESCAPED.sub(r"\1", spoken)  # the tagger escapes " and \ inside its fields


def _read_leftover_digits(text: str, language: str) -> str:
    """Digits the normalizer left (it failed, or a shape it does not know) are read one by one."""
    if language == "zh":
        return _DIGIT_RUN.sub(lambda m: _zh_digits(m.group(0)), text)
    return _DIGIT_RUN.sub(lambda m: f" {_en_digits(m.group(0))} ", text).replace("  ", " ").strip()


def normalize_clause(text: str, language: str) -> str:
    """Written → spoken form of one clause of Mandarin (``"zh"``) or English (``"en"``) text."""
    text = text.translate(_FULL_WIDTH).replace("−", "-")
    text = _FULL_WIDTH_BETWEEN_DIGITS.sub(lambda m: _HALF_WIDTH_OF[m.group(0)], text)
    if language == "zh":
        text = _zh_prepass(text)
        if any(ch.isdigit() for ch in text):
            text = _wetext_normalize(text, "zh")
    else:
        text = _en_prepass(text)
        text = _normalize_english_runs(text)
    return _read_leftover_digits(text, language).strip()


def _normalize_english_runs(text: str) -> str:
    """wetext's English TN of the runs it can read; the characters it cannot read stay in place."""
    parts = _EN_UNREADABLE.split(text)
    unreadable = _EN_UNREADABLE.findall(text)
    out = []
    for i, part in enumerate(parts):
        if _EN_NEEDS_TN.search(part):
            core = part.strip()
            lead, trail = part[: len(part) - len(part.lstrip())], part[len(part.rstrip()) :]
            part = lead + _keep_final_mark(core, _wetext_normalize(core, "en")) + trail
        out.append(part + (unreadable[i] if i < len(unreadable) else ""))
    return "".join(out)


def _keep_final_mark(written: str, spoken: str) -> str:
    """The clause's closing mark, if wetext swallowed it with an abbreviation ("at 3 p.m." → "at three PM")."""
    mark = written.rstrip()[-1:]
    if mark in ".!?;,:" and not spoken.rstrip().endswith(mark):
        return spoken.rstrip() + mark
    return spoken


# --------------------------------------------------------------------------------------------------------
# <say-as>
# --------------------------------------------------------------------------------------------------------

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
            spoken.append(_zh_digits(group, yao=telephone) if language == "zh" else _en_digits(group))
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
        spoken = f"{_zh_digits(str(year))}年" if year is not None else ""
        spoken += f"{_zh_below_100(month)}月" if month is not None else ""
        return spoken + (f"{_zh_below_100(day)}日" if day is not None else "")
    words = [_EN_MONTHS[month - 1]] if month is not None else []
    if day is not None:
        words.append(_en_ordinal(day) + ("," if year is not None else ""))
    if year is not None:
        words.append(_en_year(year))
    return " ".join(words)


def _say_as(event: ssml.Text, language: str) -> str:
    """The spoken form of a ``<say-as>``; a date that cannot be read as one is normalized like any text."""
    if event.say_as == "date":
        spoken = _say_date(event.text, event.format, language)
        return spoken if spoken is not None else normalize_clause(event.text.strip(), language)
    return _say_digits(event.text, language, telephone=event.say_as == "telephone")


# --------------------------------------------------------------------------------------------------------
# Sentences and clauses
# --------------------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(
    rf"\n[^\S\n]*\n\s*|\n"
    rf"|[。！？；]+[{_CLOSERS}]*"
    rf"|[!?;]+[{_CLOSERS}]*(?=\s|$|[{_HAN}])"
    rf"|\.+[{_CLOSERS}]*(?=\s|$|[{_HAN}])"
)
# An ASCII comma or colon cuts only before a space, the end or Chinese: not in 1,000, 3:15, https://, a,b.
_CLAUSE_MARK = re.compile(rf"[，、：]+[{_CLOSERS}]*|[,:][{_CLOSERS}]*(?=\s|$|[{_HAN}])")
_WORD_BEFORE_STOP = re.compile(r"([A-Za-z]+)\.+$")


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether a full stop is a sentence end, not "Dr. Smith", "J. Smith", "e.g. this" or "3. 5"."""
    if not match.group(0).startswith("."):
        return True
    following = text[match.end() :].lstrip()
    if following[:1].islower() or following[:1].isdigit():
        return False
    word = _WORD_BEFORE_STOP.search(text[: match.end()].rstrip(_CLOSERS))
    if word is None:
        return True
    name = word.group(1)
    return not ((len(name) == 1 and name.isupper()) or name in _EN_TITLES)


def _sentences(text: str) -> list[tuple[str, str]]:
    """``(sentence, end)`` pairs; ``end`` is "sentence", "paragraph", or "open" for a trailing fragment."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if not _ends_sentence(text, match):
            continue
        mark = match.group(0)
        end = "paragraph" if mark.count("\n") > 1 else "sentence"
        out.append((text[start : match.start()] + mark.strip(), end))
        start = match.end()
    out.append((text[start:], "open"))
    return [(s.strip(), end) for s, end in out if s.strip() or end == "paragraph"]


def _clauses(sentence: str) -> list[str]:
    """Clauses of a sentence, each ending with its mark."""
    out, start = [], 0
    for match in _CLAUSE_MARK.finditer(sentence):
        out.append(sentence[start : match.end()])
        start = match.end()
    out.append(sentence[start:])
    return [c.strip() for c in out if c.strip()]


def _script_language(text: str, default: str) -> str:
    if _has_han(text):
        return "zh"
    return "en" if _LATIN.search(text) else default


# --------------------------------------------------------------------------------------------------------
# Units: spoken clauses with what follows them
# --------------------------------------------------------------------------------------------------------

# What ends a unit, weakest first. "open": nothing, the next unit continues it; "cut": a piece must end here
# without a pause of its own (the rate changes mid-sentence, or a <break> gives the pause).
_ENDS = ("open", "clause", "cut", "sentence", "paragraph", "final")
_PAUSES = {"clause": CLAUSE_PAUSE_MS, "sentence": SENTENCE_PAUSE_MS, "paragraph": PARAGRAPH_PAUSE_MS}


@dataclass(frozen=True)
class _Unit:
    """A spoken clause (or ``<say-as>`` reading) and the boundary after it."""

    text: str
    language: str
    rate: float
    end: str
    pause_ms: int | None = None  # from <break>: replaces the boundary's own pause


def _stronger(a: str, b: str) -> str:
    return a if _ENDS.index(a) >= _ENDS.index(b) else b


def _text_units(text: str, rate: float, language: str, collapse: bool) -> list[_Unit]:
    """Units of a run of text: sentences → clauses → spoken form."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if collapse:  # SSML: line breaks are layout, and spaces between Chinese characters are too
        text = re.sub(r"\s+", " ", text)
        text = re.sub(f"(?<=[{_HAN}\u3000-\u303f\uff00-\uffef]) (?=[{_HAN}\u3000-\u303f\uff00-\uffef])", "", text)
    else:
        text = re.sub(r"[^\S\n]+", " ", text)
    units = []
    for sentence, end in _sentences(text):
        sentence_language = _script_language(sentence, language)
        clauses = _clauses(sentence)
        for i, clause in enumerate(clauses):
            spoken = normalize_clause(clause, sentence_language)
            units.append(_Unit(spoken, sentence_language, rate, end if i == len(clauses) - 1 else "clause"))
        if not clauses and end == "paragraph" and units:
            units[-1] = replace(units[-1], end="paragraph")
    return units


def _event_units(events: list[ssml.Event], language: str, collapse: bool) -> tuple[int, list[_Unit]]:
    """Leading silence (a ``<break>`` before any text) and the units of the events, boundaries applied."""
    lead_ms, units = 0, []
    for event in events:
        if isinstance(event, ssml.Break):
            if units:
                last = units[-1]
                end = "cut" if last.end in ("open", "clause") else last.end
                units[-1] = replace(last, end=end, pause_ms=(last.pause_ms or 0) + event.ms)
            else:
                lead_ms += event.ms
        elif isinstance(event, ssml.Boundary):
            if units:
                units[-1] = replace(
                    units[-1], end=_stronger(units[-1].end, "paragraph" if event.paragraph else "sentence")
                )
        elif event.say_as:
            units.append(_Unit(_say_as(event, language), language, event.rate, "open"))
        else:
            units.extend(_text_units(event.text, event.rate, language, collapse))
    if units and units[-1].end == "open":
        units[-1] = replace(units[-1], end="final")
    return lead_ms, units


def _merge_units(units: list[_Unit]) -> list[_Unit]:
    """Glue "open" units to the next one (same rate), and fold units with nothing to say into their neighbour."""
    merged: list[_Unit] = []
    for unit in units:
        if merged and not _SPEAKABLE.search(unit.text):  # punctuation only ("……", a lone "!")
            last = merged[-1]
            pause_ms = unit.pause_ms if unit.pause_ms is not None else last.pause_ms
            merged[-1] = replace(last, text=last.text + unit.text, end=_stronger(last.end, unit.end), pause_ms=pause_ms)
            continue
        if merged and merged[-1].end == "open":
            last = merged[-1]
            if last.rate == unit.rate:
                language = "zh" if "zh" in (last.language, unit.language) else unit.language
                merged[-1] = replace(unit, text=_join(last.text, unit.text), language=language)
                continue
            merged[-1] = replace(last, end="cut")  # the rate changes mid-sentence: a piece ends here
        if _SPEAKABLE.search(unit.text):
            merged.append(unit)
    if merged and merged[-1].end == "open":
        merged[-1] = replace(merged[-1], end="final")
    return merged


# --------------------------------------------------------------------------------------------------------
# Packing units into pieces
# --------------------------------------------------------------------------------------------------------

_ZH_NUMERALS = "零〇一二三四五六七八九十百千万亿幺两点负"
_ZH_PROTECTED = re.compile(
    rf"[{_ZH_NUMERALS}](?:[{_ZH_NUMERALS} ]|分之)*[{_ZH_NUMERALS}]|[A-Za-z0-9](?:[A-Za-z0-9'’.\-]*[A-Za-z0-9])?"
)


@once
def _jieba() -> ModuleType:
    """jieba with its dictionary loaded (~0.6 s, once)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.dt.initialize()
    return jieba


def _zh_cut_points(text: str) -> list[int]:
    """Where Mandarin text may be cut: between jieba words, not inside a number or a Latin word."""
    protected = [(m.start(), m.end()) for m in _ZH_PROTECTED.finditer(text)]
    points, position = [], 0
    for word in _jieba().lcut(text):
        position += len(word)
        if position < len(text) and not any(start < position < end for start, end in protected):
            points.append(position)
    return points


def _en_cut_points(text: str) -> list[int]:
    """Where English text may be cut: at spaces, but not between two number words (twenty | three)."""
    points = []
    for match in re.finditer(r" +", text):
        before = text[: match.start()].rsplit(" ", 1)[-1].strip(",.;:").lower()
        after = text[match.end() :].split(" ", 1)[0].strip(",.;:").lower()
        if not (before in _EN_NUMBER_WORDS and after in _EN_NUMBER_WORDS):
            points.append(match.end())
    return points


def _split_long(text: str, language: str, limit: int) -> list[str]:
    """Cut text longer than ``limit`` at allowed points, else at a space; a hard cut only when there is none."""
    parts = []
    while len(text) > limit:
        points = _zh_cut_points(text) if language == "zh" else _en_cut_points(text)
        fitting = [p for p in points if 0 < p <= limit and text[:p].strip()]
        if not fitting:  # a number longer than the limit: cut between its words rather than inside one
            fitting = [m.end() for m in re.finditer(r" +", text) if 0 < m.end() <= limit and text[: m.start()].strip()]
        cut = fitting[-1] if fitting else limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*parts, text] if text else parts


def _limit(language: str, max_chars: int | None) -> int:
    return max_chars or DEFAULT_MAX_CHARS[language]


def _emit(unit: _Unit, max_chars: int | None) -> list[TextPiece]:
    """The pieces of one (packed) unit: cut if over-long; the boundary's pause goes after the last."""
    parts = _split_long(unit.text, unit.language, _limit(unit.language, max_chars))
    pause = unit.pause_ms if unit.pause_ms is not None else _PAUSES.get(unit.end, 0)
    return [
        TextPiece(part, unit.language, unit.rate, pause if i == len(parts) - 1 else 0) for i, part in enumerate(parts)
    ]


def _sentence_groups(units: list[_Unit]) -> list[list[_Unit]]:
    """Units grouped into sentences: each group's units but the last end at a clause mark."""
    groups: list[list[_Unit]] = [[]]
    for unit in units:
        groups[-1].append(unit)
        if unit.end != "clause":
            groups.append([])
    return [g for g in groups if g]


def _pack_sentence(units: list[_Unit], max_chars: int | None, first: bool) -> list[TextPiece]:
    """Clauses packed greedily up to the limit; the text's first piece is its first clause if the sentence is long."""
    pieces: list[TextPiece] = []
    whole = "".join(u.text for u in units)
    if first and len(units) > 1 and len(whole) > _limit(units[0].language, max_chars) // 2:
        pieces += _emit(units[0], max_chars)  # the first audio comes after one short clause
        units = units[1:]
    current = units[0]
    for unit in units[1:]:
        joined = _join(current.text, unit.text)
        same_voice = current.rate == unit.rate and current.language == unit.language
        if same_voice and len(joined) <= _limit(current.language, max_chars):
            current = replace(unit, text=joined)
        else:
            pieces += _emit(current, max_chars)
            current = unit
    return pieces + _emit(current, max_chars)


def _pack(units: list[_Unit], max_chars: int | None) -> list[TextPiece]:
    pieces: list[TextPiece] = []
    for group in _sentence_groups(units):
        pieces += _pack_sentence(group, max_chars, first=not pieces)
    return pieces


# --------------------------------------------------------------------------------------------------------
# plan_speech
# --------------------------------------------------------------------------------------------------------


def _check_language(language: str | None) -> str | None:
    """The front-end's language code for a request's: zh-CN, cmn → zh; en-US → en; ``None`` means detect."""
    if language is None:
        return None
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    if primary in ("zh", "cmn"):
        return "zh"
    if primary == "en":
        return "en"
    raise InvalidOptionError(f"language '{language[:20]}' is not supported for speech (use zh or en)")


def plan_speech(text: str, language: str | None = None, max_chars: int | None = None) -> list[TextPiece]:
    """Cut plain text or SSML into spoken-form pieces ready to synthesize, in reading order.

    ``language`` is "zh", "en" or ``None`` (detect: Chinese if the text has any Chinese character; SSML's
    ``xml:lang`` counts too). Sentences are still read by their script: a Chinese sentence in an English
    text becomes a "zh" piece, an English-only sentence in a Chinese text an "en" one, while Latin words inside
    a Chinese sentence stay in its piece. ``max_chars`` bounds every piece's length (default
    :data:`DEFAULT_MAX_CHARS` per language; at least :data:`MIN_MAX_CHARS`). Raises
    :class:`~shenggu.errors.InvalidOptionError` for malformed or unsupported SSML, an unknown language or a
    too small ``max_chars``.
    """
    requested = _check_language(language)
    if max_chars is not None and max_chars < MIN_MAX_CHARS:
        raise InvalidOptionError(f"max_chars must be at least {MIN_MAX_CHARS}, not {max_chars}")
    if ssml.is_ssml(text):
        document = ssml.parse(text)
        events, collapse = document.events, True
        if requested is None and document.language:
            requested = _check_language(document.language)
    else:
        events, collapse = [ssml.Text(text)], False
    detected = requested or ("zh" if any(_has_han(e.text) for e in events if isinstance(e, ssml.Text)) else "en")
    lead_ms, units = _event_units(events, detected, collapse)
    pieces = _pack(_merge_units(units), max_chars)
    return [TextPiece("", detected, 1.0, lead_ms), *pieces] if lead_ms else pieces


# --------------------------------------------------------------------------------------------------------
# Pinyin
# --------------------------------------------------------------------------------------------------------


def pinyin(text: str) -> list[str]:
    """Tone-numbered pinyin (neutral tone 5, ü as v) of each Chinese character in ``text``, other characters skipped.

    Polyphones are read by word, the way misaki (so Kokoro) reads them: jieba cuts the words, pypinyin's phrase
    dictionary reads each (银行 → yin2 hang2, 行走 → xing2 zou3, 重庆 → chong2 qing4, 长大 → zhang3 da4).
    Written numbers are not read: normalize first (:func:`plan_speech`).
    """
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for word in _jieba().lcut(text):
        for run in _HAN_RUN.findall(word):
            out.extend(
                lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda chars: list(chars))
            )
    return out


# --------------------------------------------------------------------------------------------------------
# Kokoro phonemes
# --------------------------------------------------------------------------------------------------------

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

    _jieba()  # the same jieba, initialized quietly
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
        segments = re.split(f"([{_HAN}]+)", text)
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
    if piece.language not in DEFAULT_MAX_CHARS:
        raise InvalidOptionError(f"language '{piece.language[:20]}' has no Kokoro phonemes (use zh or en)")
    vocab = _vocab()
    return "".join(ch for ch in _raw_phonemes(piece.text, piece.language) if ch in vocab)


__all__ = ["DEFAULT_MAX_CHARS", "TextPiece", "kokoro_phonemes", "normalize_clause", "pinyin", "plan_speech"]
