"""A small rule-based English letter-to-sound fallback for words the pronunciation dictionary lacks.

Names and made-up words ("Zorblax", "McAllister's") get a plausible ARPAbet reading (no stress digits) from
ordered spelling rules: longest grapheme patterns first, then context rules for magic-e, soft c/g, r-coloured
vowels and final-s voicing. It is meant to be good enough for forced alignment, not a full G2P model: the
assessor only needs phones close to what a reader would say. It never raises on ASCII input: digits are read as
numbers, hyphenated parts are read one after the other, apostrophes are dropped except in possessive/contracted
``'s``, and anything else is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from shenggu.text.numbers_en import en_cardinal

_VOWELS = frozenset("aeiouy")
_SIBILANTS = frozenset({"S", "Z", "SH", "ZH", "CH", "JH"})
_VOICELESS = frozenset({"P", "T", "K", "F", "TH"})
_SHORT_VOWELS = frozenset({"AE", "EH", "IH", "AA", "AH", "UH"})

Condition = Callable[[str, int], bool]


def _has_vowel_before(word: str, i: int) -> bool:
    return any(c in _VOWELS for c in word[:i])


def _single_syllable(word: str, i: int) -> bool:
    return not _has_vowel_before(word, i)


# (pattern, phones, condition): the pattern is matched at the current position (lookarounds give context);
# the first rule that matches and whose condition holds wins, so longer and more specific rules come first.
_RULES: list[tuple[re.Pattern[str], str, Condition | None]] = [
    (re.compile(p), phones, cond)
    for p, phones, cond in [
        # Prefixes and whole-suffix spellings.
        (r"^mc", "M AH K", None),
        (r"^kn", "N", None),
        (r"^wr", "R", None),
        (r"^x(?=[a-z])", "Z", None),
        (r"tion", "SH AH N", None),
        (r"sion", "ZH AH N", None),
        (r"[ct]ious", "SH AH S", None),
        (r"[ct]ial", "SH AH L", None),
        (r"ture", "CH ER", None),
        (r"eigh", "EY", None),
        (r"igh", "AY", None),
        (r"ough", "AO", None),
        (r"tch", "CH", None),
        (r"dge", "JH", None),
        # Consonant digraphs.
        (r"ch", "CH", None),
        (r"sh", "SH", None),
        (r"th", "TH", None),
        (r"ph", "F", None),
        (r"wh", "W", None),
        (r"ck", "K", None),
        (r"ng", "NG", None),
        (r"qu", "K W", None),
        (r"^gh", "G", None),
        (r"gh", "", None),
        (r"c(?=c[eiy])", "K", None),
        (r"([bcdfgklmnprstvz])(?=\1)", "", None),  # first of a doubled consonant: the second one sounds
        # Vowel digraphs.
        (r"ee", "IY", None),
        (r"ea", "IY", None),
        (r"oo", "UW", None),
        (r"a[iy]", "EY", None),
        (r"oa", "OW", None),
        (r"oe$", "OW", None),
        (r"ou", "AW", None),
        (r"ow", "OW", None),
        (r"o[iy]", "OY", None),
        (r"a[uw]", "AO", None),
        (r"ew", "UW", None),
        (r"ei", "EY", None),
        (r"ey$", "IY", None),
        (r"ie$", "IY", _has_vowel_before),
        (r"ie$", "AY", None),
        (r"ue$", "UW", None),
        # R-coloured vowels (not before a vowel: "very", "zero" keep a plain vowel then R).
        (r"ar(?![aeiouy])", "AA R", None),
        (r"or(?![aeiouy])", "AO R", None),
        (r"[eiu]r(?![aeiouy])", "ER", None),
        (r"(?:(?<=[sxzcg])|(?<=ch)|(?<=sh))es$", "IH Z", None),
        # Final e: silent after a consonant when another vowel came before ("hate", "hates"), else long.
        (r"e(?=s?$)", "", lambda w, i: i > 0 and w[i - 1] not in _VOWELS and _has_vowel_before(w, i - 1)),
        (r"e$", "IY", None),
        # Magic e: a vowel, one consonant, then a final (silent) e.
        (r"a(?=[^aeiouyx]es?$)", "EY", None),
        (r"i(?=[^aeiouyx]es?$)", "AY", None),
        (r"o(?=[^aeiouyx]es?$)", "OW", None),
        (r"u(?=[^aeiouyx]es?$)", "UW", None),
        (r"e(?=[^aeiouyx]es?$)", "IY", None),
        # Open final vowels.
        (r"a$", "AH", _has_vowel_before),
        (r"o$", "OW", None),
        (r"i$", "IY", None),
        (r"u$", "UW", None),
        # y: consonant at the start, a vowel elsewhere.
        (r"^y", "Y", None),
        (r"y$", "AY", _single_syllable),
        (r"y$", "IY", None),
        (r"y", "IH", None),
        # Plain vowels (short).
        (r"a", "AE", None),
        (r"e", "EH", None),
        (r"i", "IH", None),
        (r"o", "AA", None),
        (r"u", "AH", None),
        # Consonants with context.
        (r"c(?=[eiy])", "S", None),
        (r"c", "K", None),
        (r"g(?=[eiy])", "JH", None),
        (r"g", "G", None),
        (r"h$", "", _has_vowel_before),
        (r"x", "K S", None),
        (r"b", "B", None),
        (r"d", "D", None),
        (r"f", "F", None),
        (r"h", "HH", None),
        (r"j", "JH", None),
        (r"k", "K", None),
        (r"l", "L", None),
        (r"m", "M", None),
        (r"n", "N", None),
        (r"p", "P", None),
        (r"q", "K", None),
        (r"r", "R", None),
        (r"s", "S", None),
        (r"t", "T", None),
        (r"v", "V", None),
        (r"w", "W", None),
        (r"z", "Z", None),
    ]
]


def _spell(letters: str) -> list[str]:
    """Phones of a run of lowercase letters a–z under ``_RULES``."""
    phones: list[str] = []
    i = 0
    while i < len(letters):
        if i == len(letters) - 1 and letters[i] == "s" and i > 0 and letters[i - 1] != "s":
            phones.append(_final_s(phones))
            break
        for pattern, out, cond in _RULES:
            m = pattern.match(letters, i)
            if m and m.end() > i and (cond is None or cond(letters, i)):
                phones += out.split()
                i = m.end()
                break
        else:  # every letter a–z has an unconditional one-letter rule, so this only trips on a broken rule table
            raise ValueError(f"no spelling rule for {letters[i]!r}")
    return phones or ["AH"]  # every letter silent ("ggh"): a word still needs a sound to be aligned


def _final_s(phones: list[str]) -> str:
    """A word-final s: voiced after a voiced consonant or a long vowel ("dogs", "days"), S after a voiceless
    consonant or a short vowel ("cats", "bus")."""
    last = phones[-1] if phones else ""
    return "S" if last in _VOICELESS or last in _SHORT_VOWELS or not last else "Z"


def _possessive(phones: list[str]) -> list[str]:
    """The ``'s`` ending after ``phones``: IH Z after a sibilant, S after a voiceless consonant, else Z."""
    last = phones[-1] if phones else ""
    if last in _SIBILANTS:
        return ["IH", "Z"]
    return ["S"] if last in _VOICELESS else ["Z"]


def letters_to_phones(word: str) -> list[str]:
    """ARPAbet phones (no stress) for ``word`` by spelling rules; empty only when it holds no letter or digit."""
    phones: list[str] = []
    for token in re.findall(r"[a-z']+|[0-9]+", word.lower()):
        if token.isdigit():
            phones += [p for w in en_cardinal(int(token)).split() for p in letters_to_phones(w)]
            continue
        possessive = token.endswith("'s") and len(token.strip("'")) > 1
        letters = token.replace("'", "")
        if possessive:
            letters = letters[:-1]
        if letters:
            spelled = _spell(letters)
            phones += spelled + (_possessive(spelled) if possessive else [])
    return phones


def pronounce(word: str, lookup: Callable[[str], list[str] | None]) -> list[str]:
    """Phones of a lower-case ``word``: the dictionary's (``lookup``) if it has the word; else hyphenated parts and
    a possessive base ("mcallister's") are looked up on their own; spelling rules fill what is still missing."""
    phones = lookup(word)
    if phones:
        return phones
    parts = [part for part in word.split("-") if part]
    if len(parts) > 1:
        return [p for part in parts for p in pronounce(part, lookup)]
    if word.endswith("'s") and len(word.strip("'")) > 1:
        base = pronounce(word[:-2], lookup)
        return base + _possessive(base)
    if word.endswith("'") and word.strip("'"):  # plural possessive: "jones'"
        return pronounce(word.rstrip("'"), lookup)
    return letters_to_phones(word)
