"""Personal data and sensitive words found in text and masked, character for character.

    mask_text("电话13812345678，邮箱zhang.san@example.com").text
        → "电话138****5678，邮箱z********@example.com"

What is found (each kind can be switched off):

* ``mobile``: mainland mobile numbers, 1[3-9]x plus 8 digits, optionally +86/0086 and spaces or hyphens
  (138 1234 5678). Kept: the first 3 and last 4 digits.
* ``landline``: area code (0 + 2-3 digits) and a 7-8 digit number, written with a hyphen, a space or
  brackets: 010-12345678, (0571) 8765432. Kept: the area code and the last 4 digits.
* ``id_card``: 18-character resident ID numbers whose ISO 7064 MOD 11-2 check character is right, with a real
  province code and birth date; and the 15-digit legacy numbers (province code and a 19YYMMDD birth date, they
  have no check digit). Kept: the first 3 and last 4 characters. An 18-digit number with a wrong check
  character is not an ID number (but may still be a bank card).
* ``bank_card``: 16-19 digits, plain or in groups of four, that pass the Luhn check. Kept: first and last 4.
* ``email``: an address; the first character of the local part and the domain are kept.
* ``sensitive_word``: a small built-in list (profanity, drugs, illegal trades; :data:`BUILTIN_WORDS`) and any
  words the caller adds; matched case-insensitively, masked whole.

Full-width digits count as digits (１３８…). Masking replaces each masked letter or digit with ``*`` and keeps
separators, so the masked text has the same length as the original and every finding's ``start``/``end`` is
valid in both. Findings never carry the original characters. The kinds are looked for in this order, and
characters claimed by one are not looked at again: email, ID card, bank card, mobile, landline, sensitive word.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from shenggu.errors import InvalidOptionError

MASK_TYPES = ("email", "id_card", "bank_card", "mobile", "landline", "sensitive_word")
MAX_WORDS = 500
MAX_WORD_CHARS = 50
MASK_CHAR = "*"

# Kept small on purpose: common profanity and the vocabulary of illegal trades. Callers add their own terms.
BUILTIN_WORDS = (
    "傻逼", "煞笔", "他妈的", "操你妈", "草泥马", "王八蛋", "狗日的", "去你妈的", "妈了个逼",
    "冰毒", "海洛因", "摇头丸", "大麻烟", "卖淫", "嫖娼", "网络赌博", "赌球", "六合彩",
    "代开发票", "办假证", "假证件", "枪支弹药", "洗钱", "套现",
    "fuck", "fucking", "motherfucker", "shit", "bitch", "asshole", "bastard", "cunt",
)  # fmt: skip

_NOT_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_AFTER = r"(?![0-9A-Za-z])"
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
_ID_18 = re.compile(rf"{_NOT_BEFORE}\d{{17}}[\dXx]{_NOT_AFTER}")
_ID_15 = re.compile(rf"{_NOT_BEFORE}\d{{15}}{_NOT_AFTER}")
_CARD = re.compile(rf"{_NOT_BEFORE}(?:\d{{16,19}}|\d{{4}}(?:[ -]\d{{4}}){{3}}(?:[ -]\d{{1,4}})?){_NOT_AFTER}")
_MOBILE = re.compile(rf"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{{4}}){{2}}{_NOT_AFTER}")
_LANDLINE = re.compile(rf"{_NOT_BEFORE}(?:\(0\d{{2,3}}\)[ -]?|（0\d{{2,3}}）|0\d{{2,3}}[ -])[1-9]\d{{6,7}}{_NOT_AFTER}")
# First two digits of an ID number: the province-level division (71 Taiwan, 81/82 Hong Kong/Macau, 91 abroad).
_PROVINCES = frozenset(
    ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
     "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "91")
)  # fmt: skip
# Full-width digits and signs are found like ASCII ones (the text is searched through this one-to-one fold).
_FOLD = str.maketrans("０１２３４５６７８９＋－＠．", "0123456789+-@.")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class Finding:
    """What was masked and where: ``text[start:end]`` of the original (and of the masked) text."""

    type: str
    start: int
    end: int

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class MaskResult:
    """The masked text and what was found in it, in text order."""

    text: str
    findings: list[Finding]

    def to_dict(self) -> dict:
        """JSON form for the API and ``--format json``."""
        return {"text": self.text, "findings": [f.to_dict() for f in self.findings]}


def id_check_char(first17: str) -> str:
    """The check character (0-9 or X) of an 18-character ID number, from its first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return False
    return dt.date(1890, 1, 1) <= born <= dt.date.today()


def is_id_number(number: str) -> bool:
    """Whether ``number`` is a well-formed resident ID number: 18 characters with a right check character, or
    the 15-digit legacy form; both with a real province code and birth date."""
    if number[:2] not in _PROVINCES:
        return False
    if len(number) == 18 and number[:17].isdigit():
        birth = int(number[6:10]), int(number[10:12]), int(number[12:14])
        return _valid_date(*birth) and id_check_char(number[:17]) == number[17].upper()
    if len(number) == 15 and number.isdigit():
        return _valid_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
    return False


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (bank card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    """Replace letters and digits with ``*`` except the first ``keep_start`` and last ``keep_end`` of them."""
    count = sum(ch.isalnum() for ch in value)
    out, seen = [], 0
    for ch in value:
        if ch.isalnum():
            out.append(ch if seen < keep_start or seen >= count - keep_end else MASK_CHAR)
            seen += 1
        else:
            out.append(ch)
    return "".join(out)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    kept = local[:1] if len(local) > 1 else ""
    return kept + MASK_CHAR * (len(local) - len(kept)) + "@" + domain


def _mask_id(value: str) -> str | None:
    return _mask(value, 3, 4) if is_id_number(value) else None


def _mask_card(value: str) -> str | None:
    digits = _digits(value)
    return _mask(value, 4, 4) if 16 <= len(digits) <= 19 and luhn_valid(digits) else None


def _mask_mobile(value: str) -> str:
    return _mask(value, len(_digits(value)) - 11 + 3, 4)


def _mask_landline(value: str) -> str:
    area = re.match(r"\D*(0\d{2,3})", value)
    return _mask(value, len(area.group(1)) if area else 0, 4)


# (type, pattern, masker): the masker returns None when the match is not really of that type.
_DETECTORS: tuple[tuple[str, re.Pattern[str], Callable[[str], str | None]], ...] = (
    ("email", _EMAIL, _mask_email),
    ("id_card", _ID_18, _mask_id),
    ("id_card", _ID_15, _mask_id),
    ("bank_card", _CARD, _mask_card),
    ("mobile", _MOBILE, _mask_mobile),
    ("landline", _LANDLINE, _mask_landline),
)


def check_words(words: Iterable[str]) -> list[str]:
    """Caller-supplied sensitive words, trimmed, blanks and duplicates dropped. Raises
    :class:`~shenggu.errors.InvalidOptionError` beyond :data:`MAX_WORDS` words or :data:`MAX_WORD_CHARS`
    characters a word."""
    out: list[str] = []
    for word in words:
        word = word.strip()
        if len(word) > MAX_WORD_CHARS:
            raise InvalidOptionError(f"sensitive word '{word[:20]}…' is longer than {MAX_WORD_CHARS} characters")
        if word and word not in out:
            out.append(word)
    if len(out) > MAX_WORDS:
        raise InvalidOptionError(f"at most {MAX_WORDS} sensitive words, not {len(out)}")
    return out


def _check_types(types: Iterable[str] | None) -> frozenset[str]:
    if types is None:
        return frozenset(MASK_TYPES)
    chosen = frozenset(types)
    unknown = sorted(chosen - set(MASK_TYPES))
    if unknown:
        raise InvalidOptionError(f"unknown mask type '{unknown[0][:20]}' (choose {', '.join(MASK_TYPES)})")
    return chosen


def _word_pattern(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = []
    for word in sorted(words, key=len, reverse=True):  # longest first: 去你妈的 before 他妈的
        escaped = re.escape(word)
        # A Latin word matches only as a whole word (no "shit" in "shiitake").
        alternatives.append(rf"(?<![A-Za-z]){escaped}(?![A-Za-z])" if word.isascii() else escaped)
    return re.compile("|".join(alternatives), re.IGNORECASE)


def mask_text(
    text: str, words: Iterable[str] = (), builtin_words: bool = True, types: Iterable[str] | None = None
) -> MaskResult:
    """Find personal data and sensitive words in ``text`` and mask them (see the module doc).

    ``words``: the caller's sensitive words, added to the built-in list (or used alone with
    ``builtin_words=False``). ``types``: which kinds to look for (default all of :data:`MASK_TYPES`). Raises
    :class:`~shenggu.errors.InvalidOptionError` for an unknown type or too many or too long words.
    """
    chosen = _check_types(types)
    extra = check_words(words)
    taken: list[tuple[int, int]] = []
    found: list[tuple[Finding, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    folded = text.translate(_FOLD)
    for kind, pattern, masker in _DETECTORS:
        if kind not in chosen:
            continue
        for match in pattern.finditer(folded):
            start, end = match.span()
            if not free(start, end):
                continue
            masked = masker(match.group(0))
            if masked is not None:  # the original characters where the masker kept the folded ones
                masked = "".join(m if m == MASK_CHAR else o for m, o in zip(masked, text[start:end], strict=True))
                taken.append((start, end))
                found.append((Finding(kind, start, end), masked))
    if "sensitive_word" in chosen:
        pattern = _word_pattern(list(dict.fromkeys([*(BUILTIN_WORDS if builtin_words else ()), *extra])))
        for match in pattern.finditer(text) if pattern else ():
            if free(match.start(), match.end()):
                taken.append((match.start(), match.end()))
                found.append((Finding("sensitive_word", match.start(), match.end()), MASK_CHAR * len(match.group(0))))
    found.sort(key=lambda item: item[0].start)
    pieces, at = [], 0
    for finding, masked in found:
        pieces.extend((text[at : finding.start], masked))
        at = finding.end
    pieces.append(text[at:])
    return MaskResult("".join(pieces), [finding for finding, _ in found])


__all__ = [
    "BUILTIN_WORDS",
    "MASK_TYPES",
    "MAX_WORDS",
    "MAX_WORD_CHARS",
    "Finding",
    "MaskResult",
    "check_words",
    "id_check_char",
    "is_id_number",
    "luhn_valid",
    "mask_text",
]
