"""Inverse text normalization (ITN) of Mandarin ASR output: spoken numbers → written digits.

    二零二三年三月五日下午三点十五分 → 2023年3月5日下午3:15
    百分之十二点五 → 12.5%        一千二百三十四点五六元 → 1234.56元
    零下五度 → 零下5度            幺三八零零一三八零零零 → 13800138000

How it works. wetext's prebuilt WFST *tagger* finds and classifies the number expressions (``date``,
``time``, ``money``, ``measure``, ``cardinal``, …) and carries their spoken text field by field. wetext's own
verbalizer is not used: its output is glued and un-Chinese (``2023/03/053:15p.m.``, ``¥1234.56``, ``50km``,
``30°``, ``123 456``) and it escapes quotes (``他说\\"300\\"``). Each tagged span is instead re-rendered here
with a small, validating Chinese-numeral parser into the forms Chinese text uses (``2023年3月5日``,
``下午3:15``, ``1234.56元``, ``50公里``), and a span is kept as spoken unless every guard below accepts it.

Guards against over-conversion (the cost of a wrong conversion is higher than that of a missed one, so each
rule errs on the side of keeping the characters):

1. Well-formed number. The span must parse as a positional number (一千零八, 三千五, 一万二, 十二点五) or a
   digit-by-digit reading (二零二三, 幺三八…, at least three digits). Malformed readings stay: 九九八十一
   (wetext: ``998 11``), 七零八落 (``708``落).
2. Approximate numbers stay in characters, as GB/T 15835 prescribes: two adjacent digits (五六个, 三四千,
   十七八岁, 七八年, 三五成群) are a range, not a number.
3. Numeral evidence. A ``cardinal`` or ``measure`` span needs at least two numeral characters; a single one
   (十 in 十分/十足/十字/合十, 十个, 十年) is far more often a word than a quantity. Dates, times, money,
   percentages and temperatures are explicit enough to convert even with one numeral (三月五日, 十元).
4. Boundaries. A span touching another numeral, 几/数 or Arabic digits is part of a larger expression the
   tagger split (几十个 → wetext ``几10个``, 十几个 → ``10几个``, 一两万元); numbers after 第 (ordinals) stay
   too, since wetext itself leaves 第一/第三 alone and 第十八 vs 第23 would be inconsistent.
5. Lexicalized words. If jieba's dictionary has a word that contains the span and extends beyond it, the
   number is part of a name or idiom: 三十六计, 十万火急, 一千零一夜, 九一八事变, 降龙十八掌, 一点一点.

Words with one numeral (一起, 一样, 一点, 一些, 一直, 统一, 万一, 一会儿, 一个人, 三心二意, 万人敬仰) stay
by rules 1-3 and wetext's own whitelist. Not converted on purpose: fractions (三分之二 reads better than 2/3
in prose), arithmetic (三加五), compound amounts (三块五), bare hours without a time-of-day word (三点 is as
often "a bit" as "3 o'clock"), and month names alone (三月).

Conventions: money keeps its Chinese currency word after the number (1234.56元, 300美元); trailing 万/亿
stay as units (3000万, 1.5亿元); temperatures below zero keep 零下 (零下5度; 负十度 → -10度); day suffixes
keep the speaker's 日/号. Full-width digits become half-width. English (``language="en"``) passes through
unchanged: this module only does Mandarin ITN.

Failures never reach the caller: a wetext error leaves that sentence as it was and logs a warning on the
``shenggu.nlp.itn`` logger. Speed: about 1 ms per sentence after a one-off ~1 s load of the FSTs and jieba's
dictionary (lazy, once per process, thread-safe).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from shenggu.text.chinese import load_jieba
from shenggu.text.numbers_zh import ZH_BIG_UNITS, ZH_DIGIT_VALUES, ZH_NUMERALS, ZH_SMALL_UNITS, parse_zh_positional

logger = logging.getLogger("shenggu.nlp.itn")

# --------------------------------------------------------------------------------------------------------
# Chinese numerals
# --------------------------------------------------------------------------------------------------------

_NUMERAL_CLASS = "".join(sorted(ZH_NUMERALS))
_ASCII_DIGITS = frozenset("0123456789")
# Adjacent digits read as a range ("five or six"), not as one number.
_RANGE_PAIRS = {(a, a + 1) for a in range(1, 9)} | {(3, 5)}

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _count_numerals(text: str) -> int:
    return sum(ch in ZH_NUMERALS for ch in text)


def _digits(text: str) -> str | None:
    """Digits read one by one (二零二三 → 2023, 幺三八 → 138); ``None`` if any character is not a digit."""
    if not text or any(ch not in ZH_DIGIT_VALUES or ch == "两" for ch in text):
        return None  # 两 is never used when reading digits out
    return "".join(str(ZH_DIGIT_VALUES[ch]) for ch in text)


def _digit_string(text: str, min_len: int = 3) -> str | None:
    """A digit-by-digit number of at least ``min_len`` digits that is not a range such as 七八."""
    if len(text) < min_len:
        return None
    if len(text) == 2 and (ZH_DIGIT_VALUES.get(text[0]), ZH_DIGIT_VALUES.get(text[1])) in _RANGE_PAIRS:
        return None  # 七八年 is "seven or eight years" far more often than '78
    return _digits(text)


def _format_decimal(text: str) -> str | None:
    """Integer or decimal reading (十二点五 → 12.5, 零点零五 → 0.05) as a string; ``None`` when malformed."""
    integer, sep, fraction = text.partition("点")
    value = parse_zh_positional(integer)
    if value is None:
        return None
    if not sep:
        return str(value)
    digits = _digits(fraction)
    return None if digits is None else f"{value}.{digits}"


def _format_number(text: str) -> str | None:
    """Written form of a spoken number, or ``None`` when ``text`` is not a well-formed one.

    A trailing 万/亿 stays as a unit (三千万 → 3000万, 一点五亿 → 1.5亿) the way Chinese text writes large
    round numbers; a leading 负 becomes a minus sign.
    """
    if text.startswith("负"):
        rest = _format_number(text[1:])
        return None if rest is None else f"-{rest}"
    if not text:
        return None
    digits = _digit_string(text)
    if digits is not None:
        return digits
    if len(text) > 1 and text[-1] in ZH_BIG_UNITS and not any(ch in ZH_BIG_UNITS for ch in text[:-1]):
        head = _format_decimal(text[:-1])
        return None if head is None else f"{head}{text[-1]}"
    return _format_decimal(text)


def _small_int(text: str, low: int, high: int) -> int | None:
    value = parse_zh_positional(text) if text else None
    return value if value is not None and low <= value <= high else None


# --------------------------------------------------------------------------------------------------------
# Rendering wetext's tagged spans
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """One token of the tagger's output: its type, its fields in spoken order and its place in the text."""

    kind: str
    fields: tuple[tuple[str, str], ...]
    start: int
    end: int

    @property
    def source(self) -> str:
        return "".join(value for _, value in self.fields)

    def field(self, name: str) -> str:
        return next((value for key, value in self.fields if key == name), "")


def _render_cardinal(span: _Span) -> str | None:
    value = span.field("value")
    if _count_numerals(value) < 2:
        return None  # a lone 十 is usually a word: 十分, 十足, 十字, 合十
    return _format_number(value)


_PERCENT_PREFIX = "百分之"
_QUARTER_HOUR = re.compile(rf"^([{_NUMERAL_CLASS}]+)点([一二三])刻$")
_MEASURE = re.compile(rf"^(负?[{_NUMERAL_CLASS}点]+)(.+)$")


def _render_measure(span: _Span) -> str | None:
    value = span.field("value")
    if value == "百分百":
        return "100%"
    if value.startswith(_PERCENT_PREFIX):
        number = _format_number(value[len(_PERCENT_PREFIX) :])
        return None if number is None else f"{number}%"
    quarter = _QUARTER_HOUR.match(value)
    if quarter:  # 三点一刻 = 3:15 (wetext would give "3.1刻")
        hour = _small_int(quarter.group(1), 0, 24)
        return None if hour is None else f"{hour}:{15 * ZH_DIGIT_VALUES[quarter.group(2)]:02d}"
    match = _MEASURE.match(value)
    if not match or any(ch in ZH_NUMERALS for ch in match.group(2)):
        return None  # compound amounts such as 三块五, 一米八 read better as spoken
    number, unit = match.groups()
    if _count_numerals(number) < 2 and not number.startswith("负"):
        return None  # 十个, 十年, 十分 (= "very")
    written = _format_number(number)
    return None if written is None else written + unit  # Chinese unit kept: 50公里, not 50km


def _render_money(span: _Span) -> str | None:
    if span.field("decimal"):
        return None  # never produced by this wetext release; do not guess its meaning
    number = _format_number(span.field("value"))
    return None if number is None else number + span.field("currency")  # 1234.56元, not ¥1234.56


def _render_year(spoken: str) -> str | None:
    """二零二三年 → 2023, 九八年 → 98 (digit by digit), 两千零二十三年 → 2023; ranges (七八年) stay."""
    body = spoken.removesuffix("年")
    digits = _digit_string(body, min_len=2)
    if digits is not None:
        return digits
    value = parse_zh_positional(body)
    return str(value) if value is not None and value >= 1000 else None


def _render_date(span: _Span) -> str | None:
    parts = []
    for key, value in span.fields:
        if key == "year":
            written = _render_year(value)
            suffix = "年"
        elif key == "month":
            month = _small_int(value.removesuffix("月"), 1, 12)
            written, suffix = (None if month is None else str(month)), "月"
        elif key == "day":
            day = _small_int(value[:-1], 1, 31)
            written, suffix = (None if day is None else str(day)), value[-1:]  # keep the speaker's 日 or 号
        else:
            continue
        if written is None:
            return None
        parts.append(written + suffix)
    return "".join(parts) or None


def _render_minute(spoken: str) -> int | None:
    if spoken == "半":
        return 30
    if spoken.endswith("刻") and len(spoken) == 2 and spoken[0] in "一三":
        return 15 * ZH_DIGIT_VALUES[spoken[0]]
    return _small_int(spoken.removesuffix("分"), 0, 59)


def _render_time(span: _Span) -> str | None:
    hour = _small_int(span.field("hour").removesuffix("点"), 0, 24)
    if hour is None:
        return None
    clock = f"{hour}点"
    if span.field("minute"):
        minute = _render_minute(span.field("minute"))
        if minute is None:
            return None
        clock = f"{hour}:{minute:02d}"
        if span.field("second"):
            second = _small_int(span.field("second").removesuffix("秒"), 0, 59)
            if second is None:
                return None
            clock += f":{second:02d}"
    return span.field("noon") + clock  # 下午3:15, not 3:15p.m.


_RENDERERS: dict[str, Callable[[_Span], str | None]] = {
    "cardinal": _render_cardinal,
    "measure": _render_measure,
    "money": _render_money,
    "date": _render_date,
    "time": _render_time,
}

# --------------------------------------------------------------------------------------------------------
# Context guards
# --------------------------------------------------------------------------------------------------------

_BEFORE_BLOCKERS = ZH_NUMERALS | _ASCII_DIGITS | frozenset("几数第")
_AFTER_BLOCKERS = frozenset(ZH_DIGIT_VALUES) | frozenset(ZH_SMALL_UNITS) | _ASCII_DIGITS | frozenset("几")
_MAX_WORD_EXTENSION = 4


def _at_boundary(text: str, span: _Span) -> bool:
    """Whether the span is cut out of a larger numeral expression (几十个, 十几个, 第二十三, 一两万元)."""
    before = text[span.start - 1] if span.start > 0 else ""
    after = text[span.end] if span.end < len(text) else ""
    return before in _BEFORE_BLOCKERS or after in _AFTER_BLOCKERS


def _in_lexical_word(text: str, span: _Span, words: dict[str, int]) -> bool:
    """Whether a dictionary word strictly contains the span (三十六计, 十万火急, 九一八事变).

    Words that only add numerals (一点五万 around 一点五) are numbers themselves, not idioms.
    """
    first = max(0, span.start - _MAX_WORD_EXTENSION)
    last = min(len(text), span.end + _MAX_WORD_EXTENSION)
    for start in range(first, span.start + 1):
        for end in range(span.end, last + 1):
            extra = text[start : span.start] + text[span.end : end]
            if extra and any(ch not in ZH_NUMERALS for ch in extra) and words.get(text[start:end], 0) > 0:
                return True
    return False


# --------------------------------------------------------------------------------------------------------
# Patterns wetext does not tag
# --------------------------------------------------------------------------------------------------------

_TIME_OF_DAY = "凌晨|清晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|半夜|今晚|明晚|昨晚"
_HOUR_AFTER_TIME_OF_DAY = re.compile(rf"({_TIME_OF_DAY})([{_NUMERAL_CLASS}]{{1,3}})点(?![{_NUMERAL_CLASS}半刻点])")
_HOUR_OCLOCK = re.compile(rf"(?<![{_NUMERAL_CLASS}0-9第几])([{_NUMERAL_CLASS}]{{1,3}})点钟")
_BELOW_ZERO = re.compile(rf"零下([{_NUMERAL_CLASS}点]{{1,6}})(?=度|摄氏度)")


def _hour_after_time_of_day(match: re.Match[str]) -> str:
    time_of_day, spoken = match.groups()
    following = match.string[match.end() : match.end() + 1]
    hour = _small_int(spoken, 0, 24)
    if hour is None or (spoken == "一" and following in "都也儿" and following):
        return match.group(0)  # 晚上一点都不冷: "not at all", not 1 o'clock
    return f"{time_of_day}{hour}点"


def _hour_oclock(match: re.Match[str]) -> str:
    hour = _small_int(match.group(1), 0, 24)
    return match.group(0) if hour is None else f"{hour}点钟"


def _below_zero(match: re.Match[str]) -> str:
    number = _format_number(match.group(1))
    return match.group(0) if number is None else f"零下{number}"


def _convert_untagged(text: str) -> str:
    """Hours after a time-of-day word (下午三点 → 下午3点), X点钟 and 零下X度, untagged by wetext."""
    text = _HOUR_AFTER_TIME_OF_DAY.sub(_hour_after_time_of_day, text)
    text = _HOUR_OCLOCK.sub(_hour_oclock, text)
    return _BELOW_ZERO.sub(_below_zero, text)


# --------------------------------------------------------------------------------------------------------
# Backend: wetext's tagger and jieba's dictionary, loaded once
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Backend:
    tag: Callable[[str], str]
    parse: Callable[[str], list[_Span]]
    words: dict[str, int]


_backend: _Backend | None = None
_backend_error: Exception | None = None
_load_lock = threading.Lock()
_tag_lock = threading.Lock()  # kaldifst's C++ search is not documented as thread-safe


def _load_backend() -> _Backend:
    """Import wetext (it reads all its FSTs at import, ~0.3 s) and jieba's dictionary (~0.6 s)."""
    from wetext import tag
    from wetext.token_parser import TokenParser

    jieba = load_jieba()

    def tag_zh(text: str) -> str:
        with _tag_lock:
            return tag(text, "zh", "itn")

    def parse(tagged: str) -> list[_Span]:
        parser = TokenParser("zh", "itn")
        parser.parse(tagged)
        spans, offset = [], 0
        for token in parser.tokens:
            # preserve_order is the tagger's instruction to its verbalizer, not spoken text
            fields = tuple((key, _unescape(token.members[key])) for key in token.order if key != "preserve_order")
            length = sum(len(value) for _, value in fields)
            spans.append(_Span(token.name, fields, offset, offset + length))
            offset += length
        return spans

    return _Backend(tag_zh, parse, jieba.dt.FREQ)


def _get_backend() -> _Backend | None:
    """The process-wide backend, or ``None`` when it failed to load (logged once)."""
    global _backend, _backend_error
    if _backend is None and _backend_error is None:
        with _load_lock:
            if _backend is None and _backend_error is None:
                try:
                    _backend = _load_backend()
                except Exception as error:  # ITN must never break transcription
                    _backend_error = error
                    logger.warning("Mandarin ITN unavailable, text is left as spoken: %s", error, exc_info=True)
    return _backend


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescape(value: str) -> str:
    return _ESCAPED.sub(r"\1", value)  # the tagger escapes " and \ inside field values


# --------------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------------

# Numbers never cross these, so each piece is tagged on its own (the tagger is superlinear in length).
_SENTENCE_BREAK = re.compile(r"([。！？；，、：!?;\n]+)")
_MAX_PIECE = 200
_ZERO_IN_NUMBER = re.compile(rf"[{_NUMERAL_CLASS}]*〇[{_NUMERAL_CLASS}]*")


def _normalize_zero(text: str) -> str:
    """〇 → 零 inside numeral runs: wetext only knows 零 (二〇二三年 would become 二〇23年)."""
    return _ZERO_IN_NUMBER.sub(lambda m: m.group(0).replace("〇", "零") if len(m.group(0)) > 1 else m.group(0), text)


def _split_long(piece: str) -> list[str]:
    """Cut a piece longer than ``_MAX_PIECE`` at non-numeral characters so no number is split."""
    parts = []
    while len(piece) > _MAX_PIECE:
        cut = next((i for i in range(_MAX_PIECE, 0, -1) if piece[i - 1] not in ZH_NUMERALS), _MAX_PIECE)
        parts.append(piece[:cut])
        piece = piece[cut:]
    return [*parts, piece]


def _convert_piece(piece: str, backend: _Backend) -> str:
    """ITN of one punctuation-free piece; unchanged when the tagger fails or loses characters."""
    try:
        spans = backend.parse(backend.tag(piece))
    except Exception as error:  # a wetext failure leaves the piece as spoken
        logger.warning("wetext failed on %r, left unchanged: %s", piece[:80], error)
        return piece
    if "".join(span.source for span in spans) != piece:
        # The tagger drops characters it does not know (control characters); trust nothing then.
        logger.warning("wetext did not round-trip %r, left unchanged", piece[:80])
        return piece
    out = []
    for span in spans:
        render = _RENDERERS.get(span.kind)
        written = render(span) if render else None
        if written is None or _at_boundary(piece, span) or _in_lexical_word(piece, span, backend.words):
            out.append(span.source)
        else:
            out.append(written)
    return "".join(out)


def _convert_zh(text: str, backend: _Backend) -> str:
    text = _normalize_zero(text.translate(_FULL_WIDTH_DIGITS))
    out = []
    for piece in _SENTENCE_BREAK.split(text):
        if not piece or _SENTENCE_BREAK.fullmatch(piece) or not any(ch in ZH_NUMERALS for ch in piece):
            out.append(piece)  # nothing to convert: skip the tagger
            continue
        out.extend(_convert_untagged(_convert_piece(part, backend)) for part in _split_long(piece))
    return "".join(out)


def inverse_normalize(text: str, language: str = "zh") -> str:
    """Rewrite spoken numbers in ASR output as digits, the way Chinese text writes them.

    ``language="zh"``: dates (2023年3月5日), times (下午3:15, 下午3点), percentages (12.5%), money
    (1234.56元), measures (30岁, 50公里), temperatures (零下5度), digit-by-digit readings (2023年,
    13800138000); idioms and words containing numerals (一起, 一点, 三心二意, 十分) are left alone.
    Full-width digits become half-width. Any other language is returned unchanged (only Mandarin ITN exists
    here). Never raises: on an internal failure the text comes back as it was and a warning is logged on
    ``shenggu.nlp.itn``.
    """
    if language != "zh" or not isinstance(text, str) or not text:
        return text
    try:
        if not any(ch in ZH_NUMERALS for ch in text):
            return text.translate(_FULL_WIDTH_DIGITS)  # skips loading the FSTs for number-free text
        backend = _get_backend()
        if backend is None:
            return text
        return _convert_zh(text, backend)
    except Exception as error:  # ITN must never break transcription
        logger.warning("ITN failed, text left unchanged: %s", error, exc_info=True)
        return text
