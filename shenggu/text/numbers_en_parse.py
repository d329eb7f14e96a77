"""English numbers in words read back into values: "twenty-three" → 23, "two hundred and five" → 205.

One grammar of number words (:class:`NumberReader`: which word may follow which inside one number, so "twenty
three" is one number and "three twenty" two) serves both readers: the translation fact checks
(:mod:`shenggu.translate.facts`), which read fractions and ordinals too (:func:`read_en_numbers`,
:func:`parse_en_number`), and WER scoring (:mod:`shenggu.bench.scoring`), which rewrites every number as digits.
Pure functions, no dependencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from shenggu.text.numbers_en import en_cardinal, en_ordinal

_CARDINALS = {en_cardinal(n): n for n in (*range(20), *range(20, 100, 10))}
EN_SCALE_WORDS = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_WORD_VALUES = _CARDINALS | EN_SCALE_WORDS
# Ordinals whose cardinal is not the ordinal without its "th": first → one, fifth → five, twelfth → twelve.
_ORDINAL_CARDINALS = {en_ordinal(n): en_cardinal(n) for n in range(1, 13)}


class NumberWord(NamedTuple):
    """What one word adds to a number: its kind (unit 0-9, teen 10-19, tens 20-90, hundred, scale for thousand
    and up, "and" inside a number, digits for a number written in digits), its value and whether it is ordinal."""

    kind: str
    value: int
    ordinal: bool


def number_word(word: str) -> NumberWord | None:
    """The number word ``word`` (lower case) is: "seven" → unit 7, "twentieth" → tens 20 ordinal, "thousand" →
    scale 1000; ``None`` for any other word."""
    ordinal = False
    if word in _ORDINAL_CARDINALS:
        word, ordinal = _ORDINAL_CARDINALS[word], True
    elif word.endswith("th"):
        # fourth → four, sixteenth → sixteen, twentieth → twenty, hundredth → hundred
        stem = word[:-4] + "y" if word.endswith("ieth") else word[:-2]
        if stem in _WORD_VALUES:
            word, ordinal = stem, True
    value = _WORD_VALUES.get(word)
    if value is None:
        return None
    kind = "unit" if value < 10 else "teen" if value < 20 else "tens" if value < 100 else "hundred"
    return NumberWord("scale" if value >= 1000 else kind, value, ordinal)


# Which kinds of word may come right before each kind inside one number: "twenty three", "nineteen hundred",
# "two hundred and five", "five thousand", "5 million"; a number starts with a unit, teen, tens or digits.
_MAY_FOLLOW = {
    "and": {"hundred", "scale"},
    "unit": {"tens", "hundred", "scale", "and"},
    "teen": {"hundred", "scale", "and"},
    "tens": {"hundred", "scale", "and"},
    "hundred": {"unit", "teen", "digits"},
    "scale": {"unit", "teen", "tens", "hundred", "digits"},
}
_STARTERS = frozenset({"unit", "teen", "tens", "digits"})


@dataclass
class NumberReader:
    """A number being read word by word: completed scale groups (``done``) and the group being read."""

    done: int = 0
    group: int = 0
    last: str = ""  # kind of the last word taken; empty before the first
    scale: int = 0  # last scale applied, so "thousand million" is not read as one number

    @property
    def value(self) -> int:
        """The number read so far."""
        return self.done + self.group

    def accepts(self, word: NumberWord) -> bool:
        """Whether ``word`` continues this number (or, before the first word, can start one)."""
        if not self.last:
            return word.kind in _STARTERS
        if self.last not in _MAY_FOLLOW.get(word.kind, ()):
            return False
        if word.kind == "hundred":
            return self.group < 100
        if word.kind == "scale":
            return self.group > 0 and (self.scale == 0 or word.value < self.scale)
        return True

    def add(self, word: NumberWord) -> None:
        """Take ``word`` (one that :meth:`accepts`)."""
        if word.kind == "hundred":
            self.group *= 100
        elif word.kind == "scale":
            self.done += self.group * word.value
            self.group, self.scale = 0, word.value
        elif word.kind != "and":
            self.group += word.value
        self.last = word.kind


# --------------------------------------------------------------------------------------------------------
# Numbers with fractions and ordinals, as the fact checks read them
# --------------------------------------------------------------------------------------------------------

_ORDINALS = [en_ordinal(n).split()[-1] for n in (*range(1, 20), *range(20, 100, 10), 100, 1000, 10**6)]
# "two thirds", "three quarters"; "seconds" is a unit, never a denominator
_DENOMINATORS = {f"{en_ordinal(n)}s": n for n in range(3, 11)} | {"halves": 2, "quarters": 4}
# "one half", "a quarter", "one third" … "a tenth"; not "first"/"second" ("one second" is a duration)
_SINGULAR_DENOMINATORS = {"half": 2, "quarter": 4} | {en_ordinal(n): n for n in range(3, 11)}
_WORDS = [*_CARDINALS, *EN_SCALE_WORDS, *_ORDINALS, *_DENOMINATORS, "half", "quarter", "twice", "once"]
_WORD = rf"(?:{'|'.join(sorted(_WORDS, key=len, reverse=True))})(?![a-z])"
# A run of number words as written, for regular expressions (match it case-insensitively): "twenty-three",
# "a hundred and five", "two thirds", "a quarter of".
EN_NUMBER_WORD_RUN = (
    rf"\b(?:an?\s+(?=(?:hundred|thousand|million|billion|trillion)\b|(?:half|third|quarter|fifth|tenth)\s+of\b))?"
    rf"{_WORD}(?:(?:\s+|-)(?:and\s+)?{_WORD})*"
)
_AND = NumberWord("and", 0, False)
_ONE = NumberWord("unit", 1, False)


class WordNumber(NamedTuple):
    """A number read from words, and whether it is weak evidence of a number."""

    value: Fraction
    weak: bool  # spelled ordinals ("second instance" for 二审) and "half" are often not numbers in the source


def read_en_numbers(words: list[str]) -> list[WordNumber]:
    """The numbers in a run of lower-case English words: ["twenty", "three"] → [23]; ["two", "thirds"] → [2/3];
    ["five", "and", "six"] → [5, 6]. Words that are not number words end the number before them."""
    numbers: list[WordNumber] = []
    reader = NumberReader()

    def close(weak: bool = False) -> None:
        nonlocal reader
        if reader.last:
            numbers.append(WordNumber(Fraction(reader.value), weak))
        reader = NumberReader()

    for word in words:
        plural = _DENOMINATORS.get(word)
        singular = _SINGULAR_DENOMINATORS.get(word)
        reading = number_word(word)
        if word == "and":
            if reader.accepts(_AND):
                reader.add(_AND)
            else:
                close()  # "two and three" are two numbers; "two hundred and five" is one
        elif word in ("a", "an"):
            close()
            reader.add(_ONE)
        elif word in ("twice", "once"):
            close()
            numbers.append(WordNumber(Fraction(2 if word == "twice" else 1), False))
        elif reader.last and (plural or (singular and reader.value == 1)):
            numbers.append(WordNumber(Fraction(reader.value, plural or singular or 1), False))
            reader = NumberReader()
        elif plural or word in ("half", "quarter"):
            close()
            if word == "half":
                numbers.append(WordNumber(Fraction(1, 2), True))
        elif reading is None:
            close()
        else:
            if not reader.accepts(reading):
                close()
                if not reader.accepts(reading):
                    continue  # "hundred", "million" with nothing before them
            reader.add(reading)
            if reading.ordinal:
                close(weak=True)
    close()
    return numbers


def parse_en_number(text: str) -> Fraction | None:
    """The value of one English number in words or digits: "twenty-three" → 23, "one hundred and five" → 105,
    "two thirds" → 2/3, "one and a half" → 3/2, "1.2 million" → 1200000, "third" → 3; ``None`` when ``text``
    is not exactly one number."""
    half = re.search(r"\s+and\s+a\s+half$", text.strip(), re.IGNORECASE)
    core = text.strip()[: half.start()] if half else text.strip()
    digits = re.fullmatch(
        r"(\d[\d,]{0,40}(?:\.\d{1,30})?)(?:\s*(hundred|thousand|million|billion|trillion))?", core, re.I
    )
    if digits:
        value = Fraction(digits[1].replace(",", "")) * EN_SCALE_WORDS.get((digits[2] or "").lower(), 1)
    else:
        numbers = read_en_numbers(re.split(r"[\s-]+", core.lower()))
        if len(numbers) != 1 or not re.fullmatch(EN_NUMBER_WORD_RUN, core, re.IGNORECASE):
            return None
        value = numbers[0].value
    return value + Fraction(1, 2) if half else value


__all__ = [
    "EN_NUMBER_WORD_RUN",
    "EN_SCALE_WORDS",
    "NumberReader",
    "NumberWord",
    "WordNumber",
    "number_word",
    "parse_en_number",
    "read_en_numbers",
]
