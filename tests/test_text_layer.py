"""The text layer (``shenggu.text``): the Han character class, pinyin options and English number words."""

from __future__ import annotations

from fractions import Fraction

import pytest

from shenggu.bench.scoring import normalize_en
from shenggu.text.chinese import to_simplified
from shenggu.text.numbers_en_parse import parse_en_number, read_en_numbers
from shenggu.text.pinyin import dictionary_readings, syllables
from shenggu.text.script import has_han, is_han, text_language
from shenggu.translate.facts import extract_facts


@pytest.mark.parametrize(
    ("char", "han"),
    [
        ("中", True),  # unified
        ("\u3400", True),  # extension A
        ("\ufa0e", True),  # a compatibility-block ideograph
        ("\U00020000", True),  # extension B
        ("\U00030000", True),  # extension G
        ("〇", False),  # the ideographic zero is a symbol
        ("\u2e80", False),  # a radical
        ("，", False),
        ("a", False),
    ],
)
def test_han_characters(char: str, han: bool) -> None:
    assert is_han(char) is han
    assert has_han(f"x{char}y") is han
    assert text_language(char) == ("zh" if han else "en")


def test_pinyin_options() -> None:
    assert syllables("绿色") == ["lv4", "se4"]
    assert syllables("绿色", "marks", umlaut=True) == ["lǜ", "sè"]
    assert syllables("的", "numbers") == ["de5"]
    assert syllables("a1中", "none", unreadable="drop") == ["zhong"]
    assert syllables("ab中", "none", unreadable="run") == ["ab", "zhong"]
    assert syllables("ab中", "none", unreadable="each") == ["a", "b", "zhong"]
    assert {"wei2", "wei4"} <= set(dict(dictionary_readings())["为"])


def test_one_english_number_grammar() -> None:
    """Fact checks and WER scoring read the same words as the same number."""
    assert parse_en_number("nineteen hundred and five") == 1905
    assert normalize_en("nineteen hundred and five") == "1 9 0 5"
    assert [n.value for n in read_en_numbers(["five", "and", "twenty"])] == [5, 20]
    assert normalize_en("five and twenty") == "5 and 2 0"


def test_words_that_are_not_numbers() -> None:
    assert parse_en_number("banana") is None
    assert read_en_numbers(["three", "cats", "two"]) == [(Fraction(3), False), (Fraction(2), False)]
    # not a proportion ("one in five"): only the number one
    assert [(f.kind, f.value) for f in extract_facts("one in apples", "en")] == [("number", 1)]


@pytest.mark.parametrize(
    ("text", "simplified"),
    [
        ("換著喝", "换着喝"),  # the aspect particle
        ("帶著孩子看著我", "带着孩子看着我"),
        ("著急地著陸", "着急地着陆"),  # zhuó / zháo words
        ("執著", "执着"),
        ("著名的著作很顯著", "著名的著作很显著"),  # zhù keeps 著
        ("臭名昭著的土著", "臭名昭著的土著"),
    ],
)
def test_zhe_is_simplified_by_word(text: str, simplified: str) -> None:
    assert to_simplified(text) == simplified
