"""English text normalization (written → spoken) of one clause: regex pre-passes and guards around wetext's TN.

    normalize_en("Dr. Smith paid $5.20 in 1998.") → "Doctor Smith paid five dollars and twenty cents in nineteen
    ninety eight."

The pre-pass reads here what wetext (0.1.8) reads wrongly: 1000–1999 lose their "one" (1,234 → "thousand two
hundred…", -1500 → "negative thousand…"); every 4-digit number is read as a year (1234 → "twelve thirty four",
1001 → "ten zero one"); ``$5.20`` → "five point two dollars"; ``1990s`` → "…ninety seconds"; ``No. 5`` →
"Number. five"; "Elm Dr." → "Elm doctor"; ``May 4`` → "May four"; 7-digit phone numbers become cardinals;
``~5`` → "approximatelyfive". A bare 4-digit number is read as a year here only in a year context (after "in",
"since", a month…, or at the end of a clause).

Guards: ``+1 555 123 4567``, ``#1``, ``&5`` and any non-ASCII letter or sign (é, Ж, ×, ℃, ½) crash wetext's
tagger, so only the runs it can read go through it, and only those with something to normalize; a closing mark
it swallows is put back. Digits it leaves are read one by one by :func:`shenggu.tts.normalize.normalize_clause`.
"""

from __future__ import annotations

import re

from shenggu.text.numbers_en import EN_MONTHS, en_cardinal, en_decimal, en_digits, en_ordinal, en_year
from shenggu.tts.wetext_tn import TIMES_SIGN, wetext_normalize

# Titles are expanded only before a capitalized word (Dr. Smith); elsewhere the other table applies (Elm Dr.).
EN_TITLES = {
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
_EN_TITLE = re.compile(rf"\b({'|'.join(EN_TITLES)})\.(?=\s+[A-Z])")
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
_EN_MONTH = "|".join(f"{m[:3]}(?:{m[3:]})?" if len(m) > 3 else m for m in EN_MONTHS)
_EN_MONTH_DAY = re.compile(rf"\b(?P<month>{_EN_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:.,]\d|\w)")
_EN_DECADE = re.compile(r"(?<![\w'])(?P<apostrophe>')?(?P<number>\d{2}|\d{4})s\b")
_EN_DECADE_CUES = {"the", "early", "mid", "late", "his", "her", "their", "my", "our", "your"}
_EN_GROUPED = re.compile(r"(?<![\w.,])(?P<sign>-)?(?P<int>\d{1,3}(?:,\d{3})+)(?:\.(?P<frac>\d+))?(?!\d|[.,]\d)")
_EN_FOUR_DIGITS = re.compile(r"(?<![\w.,:/$£€¥#+])(?P<sign>-)?(?P<int>\d{4})(?:\.(?P<frac>\d+))?(?![\w%°]|[.,:/-]\d)")
_EN_YEAR_CUES = {
    "in", "since", "year", "by", "from", "until", "till", "to", "through", "before", "after", "around", "circa",
    "of", "early", "late", "mid", "and", "spring", "summer", "fall", "autumn", "winter", "between", "during",
    *(m.lower() for m in EN_MONTHS), *(m[:3].lower() for m in EN_MONTHS),
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


_EN_NEEDS_TN = re.compile(r"[\d$£€¥%&@#°]")
# wetext's English tagger raises on any character outside these (é, ü, Ж, ×, ½, 你…): such runs are kept as they
# are and only the runs between them are normalized, so one accented word does not cost the clause its context.
_EN_UNREADABLE = re.compile(r"[^\x20-\x7e£€¥°“”‘’—–…]+")


def _plural_word(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


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
        return f"{sign}{en_decimal(integer, fraction)} {scale} {majors}"
    if fraction and len(fraction) <= 2 and minor:  # $5.20 → five dollars and twenty cents
        units, cents = int(integer), int(fraction.ljust(2, "0"))
        parts = []
        if units or not cents:
            parts.append(f"{en_cardinal(units)} {major if units == 1 else majors}")
        if cents:
            parts.append(f"{en_cardinal(cents)} {minor if cents == 1 else minors}")
        return sign + " and ".join(parts)
    if fraction:
        return f"{sign}{en_decimal(integer, fraction)} {majors}"
    return f"{sign}{en_cardinal(int(integer))} {major if int(integer) == 1 else majors}"


def _en_phone(match: re.Match[str]) -> str:
    """Digit groups read one by one, a comma (a short pause) between groups: five five five, one two three…"""
    if match.group("short"):
        groups = match.group("short").split("-")
    else:
        area = match.group("area1") or match.group("area2")
        groups = [area, match.group("exchange"), match.group("line")]
    spoken = ", ".join(en_digits(g) for g in groups)
    country = match.group("cc")
    return f"plus {en_digits(country)}, {spoken}" if country else spoken


def _en_month_day(match: re.Match[str]) -> str:
    month = next(m for m in EN_MONTHS if m.lower().startswith(match.group("month").lower()[:3]))
    day = int(match.group("day"))
    return f"{month} {en_ordinal(day)}" if 1 <= day <= 31 else match.group(0)


def _en_decade(match: re.Match[str]) -> str:
    """1990s → nineteen nineties; '80s and "the 80s" → eighties (a bare 30s may be seconds, so it stays)."""
    number = int(match.group("number"))
    if number % 10:
        return match.group(0)
    if len(match.group("number")) == 4:
        if not 1000 <= number <= 2090:
            return match.group(0)
        words = en_year(number).split()
    else:
        before = match.string[: match.start()].split()
        if not match.group("apostrophe") and not (before and before[-1].lower() in _EN_DECADE_CUES):
            return match.group(0)
        if number < 10:
            return match.group(0)
        words = en_cardinal(number).split()
    return " ".join([*words[:-1], _plural_word(words[-1])])


def _en_long_digits(match: re.Match[str]) -> str:
    """Ten digits or more without separators are an identifier or a phone number (13812345678), not a quantity."""
    digits = match.group(0)
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":  # a Chinese mobile number: 138 1234 5678
        return ", ".join(en_digits(g) for g in (digits[:3], digits[3:7], digits[7:]))
    return en_digits(digits)


def _en_grouped(match: re.Match[str]) -> str:
    sign = "minus " if match.group("sign") else ""
    return sign + en_decimal(match.group("int"), match.group("frac") or "")


def _en_four_digits(match: re.Match[str]) -> str:
    """1000–9999: a year in a year context (in 1998, May 2023, at a clause's end), a cardinal otherwise."""
    sign = "minus " if match.group("sign") else ""
    integer, fraction = match.group("int"), match.group("frac")
    if fraction:
        return sign + en_decimal(integer, fraction)
    value = int(integer)
    before = re.findall(r"[A-Za-z]+", match.string[: match.start()])
    after = match.string[match.end() :]
    year_context = (before and before[-1].lower() in _EN_YEAR_CUES) or re.match(r"\s*(?:$|[^\w\s]|AD\b|BC)", after)
    if not sign and 1100 <= value <= 2099 and year_context:
        return en_year(value)
    return sign + en_cardinal(value)


def _en_prepass(text: str) -> str:
    text = TIMES_SIGN.sub(" times ", text).replace("℃", "°C")
    text = _EN_LATIN_ABBREVIATIONS.sub(lambda m: "for example" if m.group(1) == "e.g" else "that is", text)
    text = _EN_TITLE.sub(lambda m: EN_TITLES[m.group(1)], text)
    text = _EN_ABBREVIATION.sub(_en_abbreviation, text)
    text = _EN_INITIALS.sub(_en_initials, text)
    text = _EN_NUMBER_SIGN.sub("number ", text)
    text = _EN_MONEY.sub(_en_money, text)
    text = _EN_PHONE.sub(_en_phone, text)
    text = _EN_MONTH_DAY.sub(_en_month_day, text)
    text = _EN_DECADE.sub(_en_decade, text)
    text = _EN_LONG_DIGITS.sub(_en_long_digits, text)
    text = _EN_YEAR_RANGE.sub(lambda m: f"{en_year(int(m.group(1)))} to {en_year(int(m.group(2)))}", text)
    text = _EN_GROUPED.sub(_en_grouped, text)
    text = _EN_FOUR_DIGITS.sub(_en_four_digits, text)
    text = _EN_PERCENT_RANGE.sub(r"\1 to ", text)
    for pattern, words in _EN_NUMBER_SYMBOLS:
        text = pattern.sub(words, text)
    return text.replace("24/7", "twenty four seven")


def _normalize_english_runs(text: str) -> str:
    """wetext's English TN of the runs it can read; the characters it cannot read stay in place."""
    parts = _EN_UNREADABLE.split(text)
    unreadable = _EN_UNREADABLE.findall(text)
    out = []
    for i, part in enumerate(parts):
        if _EN_NEEDS_TN.search(part):
            core = part.strip()
            lead, trail = part[: len(part) - len(part.lstrip())], part[len(part.rstrip()) :]
            part = lead + _keep_final_mark(core, wetext_normalize(core, "en")) + trail
        out.append(part + (unreadable[i] if i < len(unreadable) else ""))
    return "".join(out)


def _keep_final_mark(written: str, spoken: str) -> str:
    """The clause's closing mark, if wetext swallowed it with an abbreviation ("at 3 p.m." → "at three PM")."""
    mark = written.rstrip()[-1:]
    if mark in ".!?;,:" and not spoken.rstrip().endswith(mark):
        return spoken.rstrip() + mark
    return spoken


def normalize_en(text: str) -> str:
    """Written → spoken form of a clause of English text (full-width digits already folded to ASCII)."""
    return _normalize_english_runs(_en_prepass(text))


__all__ = ["EN_TITLES", "normalize_en"]
